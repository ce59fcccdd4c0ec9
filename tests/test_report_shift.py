"""The report of a run trained with target images has a domain-shift section: source against
target accuracy, the method and what chose it, the verdict and the map; other runs have none."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from imagefolders import strongly_shifted, write_class_folders
from PIL import Image

from tlstudio.cli import main
from tlstudio.recipe import Recipe
from tlstudio.runs import read_run_info
from tlstudio.training import fit

CLASSES = {"red": 8, "green": 8, "blue": 8}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("shiftreport")
    source = write_class_folders(base / "source", CLASSES)
    labelled = base / "target_val"
    for name in CLASSES:  # the labelled target images keep their class folders
        strongly_shifted(source / name, labelled / name)
    return source, strongly_shifted(source, base / "target"), labelled


def train(data: tuple[Path, Path, Path], out: Path, **target: str) -> Path:
    fit(
        Recipe(
            data_dir=str(data[0]),
            out_dir=str(out),
            backbone="tiny_cnn",
            epochs=2,
            image_size=16,
            batch_size=8,
            val_split=0.25,
            **target,
        )
    )
    return out


def report(run: Path, capsys) -> str:
    out = run.parent / f"{run.name}.html"
    assert main(["report", str(run), "--out", str(out)]) == 0, capsys.readouterr().err
    return out.read_text(encoding="utf-8")


def test_the_report_shows_source_and_target_accuracy_method_and_map(data, tmp_path, capsys):
    source, target, labelled = data
    run = train(
        data,
        tmp_path / "run",
        target_dir=str(target),
        target_val_dir=str(labelled),
        adapt="entropy",
    )
    html = report(run, capsys)
    section = html[html.index('<section id="shift">') : html.index("</section>")]
    info = read_run_info(run)
    saved = info.metrics["epochs"][info.saved_epoch() - 1]
    table = section[section.index('id="shift-accuracy"') :]
    assert f"{saved['val_accuracy']:.1%}" in table and f"{saved['target_accuracy']:.1%}" in table
    assert re.search(r"method: <b>entropy</b>, chosen by the recipe", section)
    assert "a strong shift" in section  # the negatives are easy to tell from the source
    (data_url,) = re.findall(r'src="data:image/png;base64,([^"]+)" alt="domain shift map"', section)
    with Image.open(io.BytesIO(base64.b64decode(data_url))) as image:
        colours = {c for _, c in image.getcolors(1 << 16)}
    assert (31, 119, 180) in colours and (255, 127, 14) in colours  # both domains drawn


def test_a_run_without_target_images_has_no_shift_section(data, tmp_path, capsys):
    html = report(train(data, tmp_path / "plain"), capsys)
    assert 'id="shift"' not in html
