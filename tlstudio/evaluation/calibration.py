"""Confidence a user can act on: temperature scaling fitted on a run's validation images, the
expected calibration error (ECE) and the reliability bins a diagram draws.

The fit needs no model: the validation probabilities stored while training (for the epoch of the
saved model) are softmax(logits), so log(p) differs from the logits by one constant per image
and softmax(log(p) / T) = softmax(logits / T). The temperature goes into model.json, from where
predict, Try images, the report and every export take it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from tlstudio.errors import CalibrationError
from tlstudio.evaluation.epochs import model_epoch
from tlstudio.runs import load_predictions, read_model_info, write_model_info

BINS = 15  # confidence bins of the ECE and the reliability diagram (the usual choice)
MIN_IMAGES = 10  # fewer validation images than this cannot say anything about calibration
TEMPERATURE_RANGE = (0.05, 20.0)  # the search interval; beyond it the model is broken, not shy
_FLOOR = 1e-12  # probabilities stored as 0 still have a finite log


@dataclass(frozen=True)
class ReliabilityBin:
    low: float  # the bin's confidence interval [low, high)
    high: float
    count: int  # images whose top probability falls in it
    confidence: float  # their mean top probability (0 when empty)
    accuracy: float  # the share of them predicted right (0 when empty)


@dataclass(frozen=True)
class Calibration:
    temperature: float  # logits are divided by this before softmax
    ece_before: float  # expected calibration error as trained (T = 1)
    ece_after: float  # with the temperature
    images: int  # validation images it was fitted on
    epoch: int  # the epoch whose stored predictions were used (the saved model's)
    unknown_below: float  # the model's threshold for "unknown" after calibrating

    def to_dict(self) -> dict[str, Any]:
        """What model.json records of the fit."""
        return {"images": self.images, "epoch": self.epoch,
                "ece_before": self.ece_before, "ece_after": self.ece_after}


def with_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities as the same model with its logits divided by `temperature` gives them."""
    scaled = np.log(np.clip(probabilities, _FLOOR, 1.0)) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def reliability_bins(probabilities: np.ndarray, targets: np.ndarray,
                     bins: int = BINS) -> list[ReliabilityBin]:
    """Images grouped by top probability: how confident each group was, how often it was right."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == targets
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=False), 0, bins - 1)
    result = []
    for b in range(bins):
        members = index == b
        n = int(members.sum())
        result.append(ReliabilityBin(
            float(edges[b]), float(edges[b + 1]), n,
            float(confidence[members].mean()) if n else 0.0,
            float(correct[members].mean()) if n else 0.0))
    return result


def expected_calibration_error(probabilities: np.ndarray, targets: np.ndarray,
                               bins: int = BINS) -> float:
    """The images' share-weighted gap between confidence and accuracy over the bins (0 = ideal)."""
    total = len(targets)
    return float(sum(b.count / total * abs(b.accuracy - b.confidence)
                     for b in reliability_bins(probabilities, targets, bins) if b.count))


def fit_temperature(probabilities: np.ndarray, targets: np.ndarray) -> float:
    """The temperature that minimises the validation images' negative log-likelihood."""
    log_p = np.log(np.clip(probabilities, _FLOOR, 1.0))
    rows = np.arange(len(targets))

    def nll(log_t: float) -> float:
        scaled = log_p / np.exp(log_t)
        scaled -= scaled.max(axis=1, keepdims=True)
        log_softmax = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        return float(-log_softmax[rows, targets].mean())

    low, high = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    found = minimize_scalar(nll, bounds=(low, high), method="bounded",
                            options={"xatol": 1e-5})
    return float(np.exp(found.x))


def calibrate_run(run_dir: str | os.PathLike[str],
                  unknown_below: float | None = None) -> Calibration:
    """Fit the run model's temperature on its validation images and record it in model.json
    (with `unknown_below` as the model's threshold when given). Re-running refits from the
    predictions as trained, so it never compounds."""
    info = read_model_info(run_dir)
    if unknown_below is not None and not 0.0 <= unknown_below <= 1.0:
        raise CalibrationError(f"The 'unknown' threshold must be from 0 to 1, not {unknown_below}")
    stored = load_predictions(run_dir)
    if not stored.epochs:
        raise CalibrationError(f"'{run_dir}' has no stored validation predictions to fit on")
    epoch = model_epoch(run_dir, stored.epochs[-1])
    probabilities, targets = stored.probabilities(epoch), stored.targets
    if stored.classes != info.classes:
        raise CalibrationError(f"The stored validation predictions of '{run_dir}' are for other "
                               "classes than its model; train the run again")
    if len(targets) < MIN_IMAGES:
        raise CalibrationError(
            f"Only {len(targets)} validation images: at least {MIN_IMAGES} are needed to fit a "
            "temperature that means anything")
    temperature = fit_temperature(probabilities, targets)
    result = Calibration(
        temperature,
        expected_calibration_error(probabilities, targets),
        expected_calibration_error(with_temperature(probabilities, temperature), targets),
        len(targets), epoch, info.unknown_below if unknown_below is None else unknown_below)
    write_model_info(run_dir, replace(info, temperature=temperature,
                                      unknown_below=result.unknown_below,
                                      calibration=result.to_dict()))
    return result
