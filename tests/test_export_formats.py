"""The deploy formats (ONNX fp16/int8, OpenVINO, LiteRT, Core ML): each checked by its runtime,
measured against the trained model, refused when its runtime disagrees, with a runnable example.

Needs the `[deploy]` extra (openvino, litert-torch, ai-edge-litert, coremltools).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from tiny_runs import make_run

import tlstudio.export.onnx_float_layers as onnx_float_layers
from tlstudio.cli import EXPORT_FORMATS, main
from tlstudio.errors import ExportError
from tlstudio.export import FORMATS, export_run
from tlstudio.export.metadata import EXPORT_RECORD_KEYS
from tlstudio.inference import load_predictor

SORTED_CLASSES = ("blue", "green", "red")  # as a scan of the folder finds them
CHECKED = [("onnx", "fp16"), ("onnx", "int8"), ("openvino", None), ("openvino", "fp16"),
           ("tflite", None), ("tflite", "int8")]
LINE = re.compile(r"^(?P<image>.+): (?P<label>\S+) (?P<probability>[01]\.\d{4})$")


@pytest.fixture
def run_dir(tmp_path: Path, colour_data: Path) -> Path:
    """A run whose classes match its data folder, so its validation split can be rebuilt."""
    return make_run(tmp_path / "run", colour_data, classes=SORTED_CLASSES)


def run_example(folder: Path, images: list[str]) -> list[re.Match[str]]:
    done = subprocess.run([sys.executable, str(folder / "example.py"), *images],
                          capture_output=True, text=True, timeout=120, cwd=folder)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return matches  # type: ignore[return-value]


@pytest.mark.parametrize(("fmt", "quantize"), CHECKED)
def test_each_format_is_checked_measured_and_runs_its_example(
    run_dir: Path, colour_data: Path, fmt: str, quantize: str | None
) -> None:
    result = export_run(run_dir, fmt, quantize=quantize)
    variant = fmt if quantize is None else f"{fmt}-{quantize}"
    folder = run_dir / "export" / variant
    assert Path(result.path).parent == folder and Path(result.path).is_file()
    assert result.check == "passed" and result.checked
    # The run's validation split (6 of 24 images): the export keeps the trained model's answers.
    assert result.agreement == 1.0
    assert result.accuracy == result.reference_accuracy is not None
    assert 0 < result.max_abs_diff < (1e-4 if quantize is None else 0.05)
    assert result.bytes >= Path(result.path).stat().st_size > 0
    assert result.latency_ms is not None and 0 < result.latency_ms < 1000
    recorded = json.loads((run_dir / "model.json").read_text())["exports"][variant]
    assert recorded == json.loads(json.dumps(result.to_json()))
    assert list(recorded) == list(EXPORT_RECORD_KEYS)

    images = [str(p) for p in sorted(colour_data.rglob("*.png"))[::5]]
    expected = load_predictor(run_dir).predict_paths(images)[0]
    for match, prediction in zip(run_example(folder, images), expected, strict=True):
        assert match["image"] == prediction.path
        assert match["label"] == prediction.label
        assert float(match["probability"]) == pytest.approx(prediction.probability, abs=0.02)
    # Only the format's runtime: no torch, no tlstudio in the example.
    source = (folder / "example.py").read_text()
    assert "import torch" not in source and "tlstudio" not in source


def test_quantized_files_are_smaller(run_dir: Path) -> None:
    sizes = {q: export_run(run_dir, "onnx", quantize=q).bytes for q in (None, "fp16")}
    assert sizes["fp16"] < 0.7 * sizes[None]


def test_fp16_keeps_the_high_resolution_first_layers_float32(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fp16 rounding of the first layers' weights moved a real model's probabilities ten times
    # more than that of all the later layers: those stay float32, within a share of the
    # weights (the tiny model's first layer is 3.5 % of them, an EfficientNet's < 1 %).
    monkeypatch.setattr(onnx_float_layers, "FP32_SHARE", 0.05)
    result = export_run(run_dir, "onnx", quantize="fp16")
    graph = onnx.load(result.path).graph
    weights = {t.name: t.data_type for t in graph.initializer}
    convs = [weights[n.input[1]] for n in graph.node if n.op_type == "Conv"]
    assert convs == [onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT16]
    assert result.check == "passed" and result.agreement == 1.0


def test_openvino_fp16_keeps_the_high_resolution_first_layers_float32(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openvino as ov

    monkeypatch.setattr(onnx_float_layers, "FP32_SHARE", 0.05)  # the first layer's 3.5 %
    result = export_run(run_dir, "openvino", quantize="fp16")
    model = ov.Core().read_model(result.path)
    stored = [op.input_value(1).get_node() for op in model.get_ordered_ops()
              if op.get_type_name() == "Convolution"]
    # the weights as stored: a float32 constant, or float16 widened by a Convert
    types = [w.input_value(0).get_element_type() if w.get_type_name() == "Convert"
             else w.get_element_type() for w in stored]
    assert types == [ov.Type.f32, ov.Type.f16, ov.Type.f16], types
    assert result.check == "passed" and result.agreement == 1.0


def test_coreml_is_validated_structurally_and_says_its_check_did_not_run(run_dir: Path) -> None:
    result = export_run(run_dir, "coreml")
    package = Path(result.path)
    assert package.name == "model.mlpackage" and package.is_dir()
    assert result.check.startswith("not run: ") and "macOS" in result.check
    assert not result.checked
    assert result.agreement is None and result.latency_ms is None
    assert result.bytes > 0
    assert {"example.py", "Example.swift"} <= {p.name for p in package.parent.iterdir()}


def _negate_head(model: torch.nn.Module) -> torch.nn.Module:
    broken = copy.deepcopy(model)
    with torch.no_grad():
        broken.classifier.head.weight.neg_()
    return broken


def _corrupt_int8_weight(path: Path) -> None:
    """Flip the sign of the head's int8 weights in the saved ONNX file."""
    proto = onnx.load(path)
    target = next(t for t in proto.graph.initializer
                  if t.name.startswith("classifier.head.weight") and t.name.endswith("_quantized"))
    values = onnx.numpy_helper.to_array(target)
    target.CopyFrom(onnx.numpy_helper.from_array(-np.clip(values, -127, 127), target.name))
    onnx.save(proto, path)


def _with_writer(monkeypatch: pytest.MonkeyPatch, fmt: str, write) -> None:
    monkeypatch.setitem(FORMATS, fmt, dataclasses.replace(FORMATS[fmt], write=write))


def test_corrupted_int8_onnx_weight_fails_the_export(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = FORMATS["onnx"].write

    def write_then_corrupt(model, info, path, quantize, calibration):
        siblings = original(model, info, path, quantize, calibration)
        _corrupt_int8_weight(path)
        return siblings

    _with_writer(monkeypatch, "onnx", write_then_corrupt)
    with pytest.raises(ExportError, match="disagrees"):
        export_run(run_dir, "onnx", quantize="int8")
    assert not (run_dir / "export").exists()
    assert "exports" not in json.loads((run_dir / "model.json").read_text())


@pytest.mark.parametrize(("fmt", "quantize"), CHECKED)
def test_corrupted_weight_fails_the_export_and_keeps_the_previous_one(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, quantize: str | None
) -> None:
    good = export_run(run_dir, fmt, quantize=quantize)
    folder = Path(good.path).parent
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    original = FORMATS[fmt].write
    _with_writer(monkeypatch, fmt, lambda model, *rest: original(_negate_head(model), *rest))
    with pytest.raises(ExportError, match="disagrees"):
        export_run(run_dir, fmt, quantize=quantize)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_unsupported_quantization_is_refused_clearly(run_dir: Path) -> None:
    with pytest.raises(ExportError, match="TorchScript export cannot be quantized to 'int8'"):
        export_run(run_dir, "torchscript", quantize="int8")
    with pytest.raises(ExportError, match="offers fp16"):
        export_run(run_dir, "coreml", quantize="int8")
    assert not (run_dir / "export").exists()


def test_cli_export_json_prints_exactly_the_record(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(run_dir), "--format", "onnx", "--quantize", "int8", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert list(printed) == list(EXPORT_RECORD_KEYS)
    assert printed["format"] == "onnx" and printed["quantize"] == "int8"
    assert printed["check"] == "passed" and printed["agreement"] == 1.0
    assert printed["bytes"] == Path(printed["path"]).stat().st_size


def test_cli_refuses_a_quantization_with_an_error_line(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(run_dir), "--format", "safetensors", "--quantize", "fp16"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_cli_offers_every_format() -> None:
    assert EXPORT_FORMATS == tuple(FORMATS)


def test_other_language_examples_are_written_for_onnx(run_dir: Path) -> None:
    folder = Path(export_run(run_dir, "onnx").path).parent
    script = (folder / "example.js").read_text()
    assert "onnxruntime-web" in script and json.dumps(list(SORTED_CLASSES)) in script
    assert '"model.onnx"' in (folder / "Example.cs").read_text()


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "safetensors"])
def test_the_existing_formats_get_a_runnable_example_too(
    run_dir: Path, colour_data: Path, fmt: str
) -> None:
    folder = Path(export_run(run_dir, fmt).path).parent
    images = [str(p) for p in sorted(colour_data.rglob("*.png"))[::7]]
    expected = load_predictor(run_dir).predict_paths(images)[0]
    found = run_example(folder, images)
    assert [m["label"] for m in found] == [p.label for p in expected]
    assert [float(m["probability"]) for m in found] == pytest.approx(
        [p.probability for p in expected], abs=1e-4)


def test_the_bundled_backbone_converts_to_core_ml(tmp_path: Path, colour_data: Path) -> None:
    # EfficientNet-Lite's TF "same" padding: a traced model's shape arithmetic broke coremltools.
    run = make_run(tmp_path / "run", colour_data, backbone="tf_efficientnet_lite0",
                   classes=SORTED_CLASSES)
    result = export_run(run, "coreml")
    assert Path(result.path).is_dir() and result.check.startswith("not run: ")
