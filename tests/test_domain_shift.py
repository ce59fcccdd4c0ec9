"""`tlstudio shift`: the domain classifier's accuracy is near chance for two halves of one
folder and near 1 for a strongly shifted copy; the JSON keys; the map and its points."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from imagefolders import strongly_shifted, write_class_folders
from PIL import Image

from tlstudio.cli import main
from tlstudio.recipe import Recipe
from tlstudio.training import fit


@pytest.fixture(scope="module")
def run_and_data(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny run trained on half of each class; the other half stays unseen."""
    base = tmp_path_factory.mktemp("shift")
    everything = write_class_folders(base / "all", {"red": 40, "green": 40, "blue": 40})
    train, held = base / "train", base / "held"
    for path in sorted(everything.rglob("*.png")):
        half = train if int(path.stem) % 2 == 0 else held
        (half / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, half / path.parent.name / path.name)
    run = base / "run"
    fit(Recipe(data_dir=str(train), out_dir=str(run), backbone="tiny_cnn", epochs=2,
               image_size=16, batch_size=16, val_split=0.25))
    return run, held


def shift_json(run: Path, target: Path, capsys, *extra: str) -> dict:
    assert main(["shift", str(run), str(target), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_two_halves_of_one_folder_are_indistinguishable(run_and_data, capsys):
    run, held = run_and_data
    result = shift_json(run, held, capsys)
    assert {"domain_accuracy", "source_confidence", "target_confidence", "verdict"} <= set(result)
    assert abs(result["domain_accuracy"] - 0.5) < 0.2, result["domain_accuracy"]
    assert result["verdict"].startswith("no clear shift")
    assert abs(result["source_confidence"] - result["target_confidence"]) < 0.15


def test_a_strongly_shifted_copy_is_separable_and_drawn_on_the_map(run_and_data, tmp_path,
                                                                    capsys):
    run, held = run_and_data
    target = strongly_shifted(held, tmp_path / "night")
    result = shift_json(run, target, capsys, "--map", str(tmp_path / "map.png"))
    assert result["domain_accuracy"] > 0.9
    assert result["verdict"].startswith("a strong shift")
    assert sum(result["target_distribution"].values()) == pytest.approx(1.0)
    targets = [p for p in result["map"] if p["domain"] == "target"]
    assert len(targets) == 60 and all(Path(p["path"]).parent == target for p in targets)
    classes = {"red", "green", "blue"}
    assert all(p["predicted"] in classes and 0 < p["confidence"] <= 1 for p in result["map"])
    sources = [p for p in result["map"] if p["domain"] == "source"]
    assert all(p["true"] == Path(p["path"]).parent.name for p in sources)  # its class folder
    assert all(p["true"] == "" for p in targets)
    with Image.open(tmp_path / "map.png") as image:
        colours = {c for _, c in image.getcolors(1 << 16)}
    assert (31, 119, 180) in colours and (255, 127, 14) in colours  # both domains drawn


def test_the_plain_report_and_a_missing_target_folder(run_and_data, tmp_path, capsys):
    run, held = run_and_data
    assert main(["shift", str(run), str(held)]) == 0
    out = capsys.readouterr().out
    assert "domain accuracy" in out and "verdict:" in out and "red" in out
    assert main(["shift", str(run), str(tmp_path / "nowhere")]) == 2
    assert "error: " in capsys.readouterr().err
