"""Temperature scaling and the 'unknown' threshold: fitted on the validation predictions, carried
by model.json into predict, the report and every export; ECE falls on an over-confident model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from safetensors import safe_open
from tiny_runs import CLASSES, image_batch, make_run

from tlstudio.cli import main
from tlstudio.errors import CalibrationError
from tlstudio.evaluation import (
    calibrate_run,
    epoch_evaluation,
    expected_calibration_error,
    fit_temperature,
    with_temperature,
)
from tlstudio.evaluation.report import write_report
from tlstudio.export import export_run
from tlstudio.inference import UNKNOWN, ProbabilityModel, load_predictor
from tlstudio.runs import load_model, read_model_info, save_epoch_predictions


def overconfident(n: int = 2000, classes: int = 4, sharpen: float = 4.0, seed: int = 0):
    """Labels drawn from softmax(logits), so softmax(logits) is calibrated; the model reports
    softmax(sharpen * logits): right as often, far surer."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, (n, classes))
    calibrated = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    targets = np.array([rng.choice(classes, p=row) for row in calibrated])
    sharp = np.exp(sharpen * logits)
    return sharp / sharp.sum(1, keepdims=True), targets


def test_fit_recovers_the_sharpening_and_ece_falls() -> None:
    probabilities, targets = overconfident()
    t = fit_temperature(probabilities, targets)
    assert t == pytest.approx(4.0, rel=0.15)
    before = expected_calibration_error(probabilities, targets)
    after = expected_calibration_error(with_temperature(probabilities, t), targets)
    assert before > 0.15 and after < 0.05
    # The temperature never changes which class wins.
    assert (with_temperature(probabilities, t).argmax(1) == probabilities.argmax(1)).all()


@pytest.fixture
def calibrated_run(tmp_path: Path, colour_data: Path) -> Path:
    """make_run's model (heavy random head: sure of itself, right a third of the time) with its
    own probabilities on the colour images stored as the validation predictions of epoch 1."""
    run = make_run(tmp_path / "run", colour_data)
    paths = sorted(colour_data.rglob("*.png"))
    classifier, info = load_model(run)
    with torch.inference_mode():
        probs = ProbabilityModel(classifier)(torch.from_numpy(image_batch(paths, 32))).numpy()
    targets = np.array([CLASSES.index(p.parent.name) for p in paths])
    save_epoch_predictions(run, 1, probs, targets, tuple(map(str, paths)), CLASSES)
    return run


def test_calibrate_lowers_ece_and_every_source_uses_the_temperature(calibrated_run: Path) -> None:
    result = calibrate_run(calibrated_run)
    assert result.temperature > 1.5  # over-confident: softened
    assert result.ece_after < result.ece_before
    info = read_model_info(calibrated_run)
    assert info.temperature == pytest.approx(result.temperature)
    assert info.calibration["ece_after"] == pytest.approx(result.ece_after)
    classifier, _ = load_model(calibrated_run)
    batch = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected = ProbabilityModel(classifier, result.temperature)(batch).numpy()
        raw = ProbabilityModel(classifier)(batch).numpy()
    assert np.abs(expected - raw).max() > 0.05  # the temperature makes a visible difference
    assert np.allclose(load_predictor(calibrated_run).predict_tensor(batch), expected, atol=1e-5)
    onnx_path = export_run(calibrated_run, "onnx").path
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    from_graph = session.run(None, {"image": batch.numpy()})[0]  # T inside the graph itself
    assert np.abs(from_graph - expected).max() <= 1e-4
    for fmt in ("torchscript", "safetensors"):
        exported = load_predictor(export_run(calibrated_run, fmt).path)
        assert np.abs(exported.predict_tensor(batch) - expected).max() <= 1e-4
    exported_file = calibrated_run / "export" / "safetensors" / "model.safetensors"
    with safe_open(str(exported_file), framework="pt") as f:
        assert float(f.metadata()["temperature"]) == pytest.approx(result.temperature)


def test_report_shows_reliability_and_ece_before_and_after(calibrated_run: Path) -> None:
    result = calibrate_run(calibrated_run)
    html = write_report(calibrated_run, calibrated_run / "r.html",
                        evaluation=epoch_evaluation(calibrated_run)).read_text(encoding="utf-8")
    assert 'id="reliability"' in html
    assert f"{result.ece_before:.1%} as trained" in html
    assert f"{result.ece_after:.1%} with temperature {result.temperature:.2f}" in html


def test_predict_says_unknown_below_the_threshold(calibrated_run: Path, colour_data: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    image = str(sorted(colour_data.rglob("*.png"))[0])
    assert main(["predict", str(calibrated_run), image, "--json"]) == 0
    (plain,) = json.loads(capsys.readouterr().out)
    assert plain["label"] in CLASSES
    above = plain["probability"] + 1e-3  # just above this image's top probability
    assert main(["predict", str(calibrated_run), image, "--json", "--unknown-below",
                 f"{above}"]) == 0
    (unsure,) = json.loads(capsys.readouterr().out)
    assert unsure["label"] == UNKNOWN
    assert unsure["top"] == plain["top"]  # the classes are still there to look at
    # The model's own threshold, set by calibrate, travels into an export.
    calibrate_run(calibrated_run, unknown_below=above)
    onnx_path = export_run(calibrated_run, "onnx").path
    (prediction,), _ = load_predictor(onnx_path).predict_paths([image])
    assert prediction.label == UNKNOWN


def test_too_few_validation_images_is_a_clear_error(tmp_path: Path, colour_data: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path / "run", colour_data)
    save_epoch_predictions(run, 1, np.full((3, 3), 1 / 3, np.float32), np.array([0, 1, 2]),
                           ("a", "b", "c"), CLASSES)
    with pytest.raises(CalibrationError, match="at least 10 are needed"):
        calibrate_run(run)
    assert main(["calibrate", str(run)]) == 2
    assert "error: Only 3 validation images" in capsys.readouterr().err
    assert read_model_info(run).temperature == 1.0  # nothing changed


def test_calibrate_command_prints_what_it_did(calibrated_run: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", str(calibrated_run), "--unknown-below", "0.6"]) == 0
    out = capsys.readouterr().out
    assert "expected calibration error:" in out and "'unknown' below 60%" in out
    assert read_model_info(calibrated_run).unknown_below == 0.6


def test_the_threshold_as_a_run_setting_reaches_predict(colour_data: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", str(colour_data), "--backbone", "tiny_cnn", "--out", str(run),
                 "--epochs", "1", "--image-size", "16", "--unknown-below", "1"]) == 0
    assert read_model_info(run).unknown_below == 1.0
    capsys.readouterr()
    assert main(["predict", str(run), str(colour_data), "--json"]) == 0
    labels = {p["label"] for p in json.loads(capsys.readouterr().out)}
    assert labels == {UNKNOWN}  # no probability reaches 1
