"""Predict from a run folder or an export: same answers, folder inputs, skipped files, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_runs import CLASSES, make_run

from tlstudio.errors import ModelFileError
from tlstudio.export import export_run
from tlstudio.inference import Prediction, expand_inputs, load_predictor


@pytest.fixture
def run_dir(tmp_path: Path, colour_data: Path) -> Path:
    return make_run(tmp_path / "run", colour_data)


def images(colour_data: Path) -> list[str]:
    return [str(p) for p in sorted(colour_data.rglob("*.png"))]


def test_run_folder_and_exports_agree(run_dir: Path, colour_data: Path) -> None:
    paths = images(colour_data)
    sources = [run_dir] + [
        export_run(run_dir, fmt).path for fmt in ("onnx", "torchscript", "safetensors")
    ]
    answers = []
    for source in sources:
        predictor = load_predictor(source)
        assert predictor.classes == CLASSES
        assert predictor.image_size == 32
        predictions, skipped = predictor.predict_paths(paths, top_k=2, batch_size=5)
        assert skipped == []
        assert [p.path for p in predictions] == paths
        answers.append(predictions)
    reference = answers[0]
    for other in answers[1:]:
        assert [p.label for p in other] == [p.label for p in reference]
        for a, b in zip(other, reference, strict=True):
            assert a.probability == pytest.approx(b.probability, abs=1e-4)


def test_prediction_top_k_and_dict(run_dir: Path, colour_data: Path) -> None:
    predictor = load_predictor(run_dir)
    (one,), _ = predictor.predict_paths(images(colour_data)[:1], top_k=10)
    assert isinstance(one, Prediction)
    assert len(one.top) == 3  # clamped to the number of classes
    assert one.top[0] == (one.label, one.probability)
    assert [p for _, p in one.top] == sorted((p for _, p in one.top), reverse=True)
    assert sum(p for _, p in one.top) == pytest.approx(1.0, abs=1e-5)
    d = one.to_dict()
    assert set(d) == {"path", "label", "probability", "top"}
    assert d["top"][0] == [one.label, one.probability]


def test_expand_inputs_walks_folders(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "b" / "deep").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for rel in ("z.png", "a.png", "b/deep/c.png", "b/x.png", ".secret.png", ".hidden/h.png"):
        (root / rel).write_bytes(b"x")
    single = tmp_path / "single.jpg"
    found, passed_over = expand_inputs([str(single), str(root)])
    assert passed_over == []
    names = [str(Path(p).relative_to(tmp_path)) for p in found]
    assert names == ["single.jpg", "in/a.png", "in/z.png", "in/b/x.png", "in/b/deep/c.png"]


def test_unreadable_and_missing_files_are_skipped(run_dir: Path, colour_data: Path, tmp_path: Path):
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    good = images(colour_data)[0]
    missing = str(tmp_path / "missing.png")
    predictions, skipped = load_predictor(run_dir).predict_paths([str(broken), good, missing])
    assert [p.path for p in predictions] == [good]
    assert [(s.path, s.reason) for s in skipped] == [
        (str(broken), "not an image"),
        (missing, "file not found"),
    ]


def test_bad_model_paths_are_model_file_errors(tmp_path: Path, run_dir: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    fake_onnx = tmp_path / "fake.onnx"
    fake_onnx.write_text("hello")
    fake_pt = tmp_path / "fake.pt"
    fake_pt.write_text("hello")
    bare = tmp_path / "bare.safetensors"
    bare.write_bytes((run_dir / "model.safetensors").read_bytes())  # no metadata, no json
    empty_folder = tmp_path / "empty"
    empty_folder.mkdir()
    for path in (tmp_path / "nope", text, fake_onnx, fake_pt, bare, empty_folder):
        with pytest.raises(ModelFileError):
            load_predictor(path)


def test_run_weights_load_with_their_model_json(run_dir: Path, colour_data: Path) -> None:
    # A run's model.safetensors has model.json beside it, which is enough to describe it.
    predictor = load_predictor(run_dir / "model.safetensors")
    assert predictor.classes == CLASSES
