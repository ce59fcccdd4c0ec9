"""Export to ONNX / TorchScript / safetensors: files, metadata, parity checks, atomic writes."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from safetensors import safe_open
from tiny_runs import CLASSES, image_batch, make_run

from tlstudio.errors import ExportError, ModelFileError, OutputError
from tlstudio.export import ExportResult, export_run
from tlstudio.export.check import PARITY_TOLERANCE
from tlstudio.inference import TORCHSCRIPT_INFO, load_predictor


@pytest.fixture
def run_dir(tmp_path: Path, colour_data: Path) -> Path:
    return make_run(tmp_path / "run", colour_data)




@pytest.mark.parametrize(
    ("fmt", "name"),
    [("onnx", "model.onnx"), ("torchscript", "model.pt"), ("safetensors", "model.safetensors")],
)
def test_each_format_writes_a_checked_file(run_dir: Path, fmt: str, name: str) -> None:
    result = export_run(run_dir, fmt)
    assert isinstance(result, ExportResult)
    assert Path(result.path) == run_dir / "export" / fmt / name  # a folder per format
    assert Path(result.path).is_file()
    assert result.format == fmt
    assert result.checked
    assert result.max_abs_diff is not None and result.max_abs_diff <= PARITY_TOLERANCE
    assert result.check_images == 4  # found in the recipe's data_dir
    assert "4 images" in result.message
    assert list((run_dir / "export").rglob("*.tmp")) == []


def test_onnx_metadata_and_onnxruntime_match_the_run(run_dir: Path, colour_data: Path) -> None:
    result = export_run(run_dir, "onnx")
    proto = onnx.load(result.path)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["classes"]) == list(CLASSES)
    assert meta["image_size"] == "32"
    assert meta["backbone"] == "tiny_cnn"
    assert len(json.loads(meta["preprocessing"])) >= 3
    assert "tlstudio_version" in meta
    session = onnxruntime.InferenceSession(result.path, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    batch = image_batch(sorted(colour_data.rglob("*.png"))[::4], 32)  # 6 images
    probs = session.run(None, {"image": batch})[0]
    assert probs.shape == (6, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert probs.max() > 0.5  # the perturbed head makes the check meaningful
    expected = load_predictor(run_dir).predict_tensor(batch)
    assert np.abs(probs - expected).max() <= PARITY_TOLERANCE


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_extra_files_hold_classes(run_dir: Path) -> None:
    result = export_run(run_dir, "torchscript")
    extra = {TORCHSCRIPT_INFO: ""}
    torch.jit.load(result.path, _extra_files=extra)
    info = json.loads(extra[TORCHSCRIPT_INFO])
    assert info["classes"] == list(CLASSES)
    assert info["image_size"] == 32
    assert info["output"].startswith("probabilities")


def test_safetensors_metadata_and_json_beside(run_dir: Path) -> None:
    result = export_run(run_dir, "safetensors")
    with safe_open(result.path, framework="pt") as f:
        meta = f.metadata()
    assert json.loads(meta["classes"]) == list(CLASSES)
    assert json.loads(meta["mean"]) == pytest.approx([0.485, 0.456, 0.406])
    sidecar = json.loads(Path(result.path).with_suffix(".json").read_text())
    assert sidecar["classes"] == list(CLASSES)


def test_given_check_images_are_used(run_dir: Path, colour_data: Path) -> None:
    images = [str(p) for p in sorted(colour_data.rglob("*.png"))[:5]]
    result = export_run(run_dir, "onnx", check_images=images)
    assert result.check_images == 5


def test_unreadable_check_image_is_an_export_error(run_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(ExportError, match="bad.png"):
        export_run(run_dir, "onnx", check_images=[str(bad)])
    assert not (run_dir / "export" / "onnx" / "model.onnx").exists()


def test_random_inputs_when_no_images_are_found(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", tmp_path / "gone")
    result = export_run(run, "onnx", out=tmp_path / "out.onnx")
    assert result.path == str(tmp_path / "out.onnx")
    assert result.check_images == 0
    assert result.checked


def test_out_folder_receives_model_file(run_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    assert export_run(run_dir, "torchscript", out=folder).path == str(folder / "model.pt")


def _wrong_run(self, output_names, feeds, run_options=None):
    batch = next(iter(feeds.values()))
    return [np.full((batch.shape[0], len(CLASSES)), 0.5, dtype=np.float32)]


def test_failed_check_raises_and_writes_nothing(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnxruntime.InferenceSession, "run", _wrong_run)
    with pytest.raises(ExportError, match="disagrees"):
        export_run(run_dir, "onnx")
    assert not (run_dir / "export").exists()  # not even an empty format folder


def test_failed_check_keeps_the_previous_export(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = Path(export_run(run_dir, "onnx").path)
    before = good.read_bytes()
    monkeypatch.setattr(onnxruntime.InferenceSession, "run", _wrong_run)
    with pytest.raises(ExportError):
        export_run(run_dir, "onnx")
    assert good.read_bytes() == before


def test_crash_mid_write_keeps_the_previous_export(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = Path(export_run(run_dir, "onnx").path)
    before = good.read_bytes()

    real_write = Path.write_bytes

    def half_write(path: Path, data: bytes) -> int:
        real_write(path, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(Path, "write_bytes", half_write)
    with pytest.raises(OutputError, match="the disk is full"):
        export_run(run_dir, "onnx")
    monkeypatch.undo()
    assert good.read_bytes() == before
    assert sorted(p.name for p in good.parent.iterdir()) == [
        "Example.cs", "example.js", "example.py", "model.onnx"]


def test_unknown_format_and_missing_run(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="Unknown export format"):
        export_run(run_dir, "tflite2")
    with pytest.raises(ModelFileError):
        export_run(tmp_path / "no-run", "onnx")


def test_real_backbone_exports_to_onnx(tmp_path: Path, colour_data: Path) -> None:
    # EfficientNet-Lite's TF "same" padding is the part most likely to break an exporter.
    run = make_run(tmp_path / "run", colour_data, backbone="tf_efficientnet_lite0")
    result = export_run(run, "onnx")
    assert result.max_abs_diff is not None and result.max_abs_diff <= PARITY_TOLERANCE
    assert load_predictor(result.path).image_size == 224
