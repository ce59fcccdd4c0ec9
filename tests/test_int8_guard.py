"""The int8 ONNX and LiteRT exports' accuracy guard: when the int8 model disagrees with fp32 on
the training images, the stage whose float version brings them closest is left float, within
the size budget; stages are found in the exported graph by their module paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from tiny_runs import make_run

import tlstudio.export.int8_guard as guard
from tlstudio.export import export_run
from tlstudio.export.int8_guard import float_stages, in_stages, onnx_module_path, stage_prefixes
from tlstudio.export.onnx import onnx_bytes
from tlstudio.inference import ProbabilityModel
from tlstudio.runs import load_model

REFERENCE = np.eye(4)[[0, 1, 2, 3] * 50]  # fp32's answers on 200 training images


def _answers(flipped: int) -> np.ndarray:
    """fp32's answers with the first `flipped` images given another class."""
    answers = REFERENCE.copy()
    answers[:flipped] = np.roll(answers[:flipped], 1, axis=1)
    return answers


def test_the_stage_that_restores_agreement_is_left_float_within_the_budget() -> None:
    flips = {(): 6, ("a.",): 5, ("big.",): 0, ("b.",): 3, ("b.", "a."): 1}
    tried = []

    def quantize(stages):
        tried.append(stages)
        return 100 + 10 * len(stages), _answers(flips.get(stages, 6))

    candidates = {("a.",): 10, ("big.",): 1000, ("b.",): 10}
    best = float_stages(quantize, REFERENCE, candidates, fp32_size=600)
    assert ("big.",) not in tried  # it would pass the size budget: never quantized
    # b. helps most, then a. on top of it: 1 flip in 200 reaches the 99.5 % target, search ends
    assert best.stages == ("b.", "a.") and best.agreement == 0.995
    assert tried == [(), ("a.",), ("b.",), ("b.", "a.")]


def test_an_agreeing_int8_model_is_not_searched_further() -> None:
    tried = []

    def quantize(stages):
        tried.append(stages)
        return 100, _answers(0)

    assert float_stages(quantize, REFERENCE, {("a.",): 1}, fp32_size=600).stages == ()
    assert tried == [()]


def test_the_search_stops_when_no_stage_helps() -> None:
    best = float_stages(
        lambda stages: (100, _answers(6)), REFERENCE, {("a.",): 1, ("b.",): 1}, fp32_size=600
    )
    assert best.stages == () and best.agreement == 0.97


def test_every_layer_of_the_exported_graph_is_found_in_its_stage(
    tmp_path: Path, colour_data: Path
) -> None:
    classifier, info = load_model(make_run(tmp_path / "run", colour_data))
    model = ProbabilityModel(classifier).eval()
    stages = stage_prefixes(info.backbone)
    modules = {name for name, _ in model.named_modules()}
    proto = onnx.load_from_string(onnx_bytes(model, info))
    layers = [n for n in proto.graph.node if n.op_type in ("Conv", "Gemm")]
    assert layers and stages[-1] == ("classifier.head.",)
    for node in layers:
        path = onnx_module_path(node.name)
        assert path in modules, node.name
        assert sum(in_stages(path, stage) for stage in stages) == 1, path


def _quantized_layers(path: str) -> int:
    return sum(n.op_type == "DequantizeLinear" for n in onnx.load(path).graph.node)


def _float_bytes(path: str) -> int:
    return -Path(path).stat().st_size  # float weights take four bytes where int8 took one


@pytest.mark.parametrize(("fmt", "suffix", "int8_amount"),
                         [("onnx", ".onnx", _quantized_layers),
                          ("tflite", ".tflite", _float_bytes)])
def test_an_int8_export_short_of_the_target_leaves_more_float_and_still_agrees(
    tmp_path: Path, colour_data: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, suffix: str,
    int8_amount
) -> None:
    run_dir = make_run(tmp_path / "run", colour_data, classes=("blue", "green", "red"))
    plain = export_run(run_dir, fmt, quantize="int8", out=tmp_path / f"plain{suffix}")
    monkeypatch.setattr(guard, "TARGET_AGREEMENT", 1.01)  # never reached: every round runs
    monkeypatch.setattr(guard, "MAX_SIZE_RATIO", 10.0)  # the tiny model's file is mostly header
    searched = export_run(run_dir, fmt, quantize="int8")
    assert searched.agreement == 1.0 and searched.check == "passed"
    assert int8_amount(searched.path) < int8_amount(plain.path)
