"""Any epoch's evaluation of a run from the validation probabilities stored while it trained:
no model is loaded, so views can follow a run that is still training."""

from __future__ import annotations

import os

from tlstudio.evaluation.metrics import evaluate_predictions
from tlstudio.evaluation.run_eval import RunEvaluation, image_record
from tlstudio.runs import PredictionsError, RunFolder, load_predictions
from tlstudio.runs.info import saved_epoch


def stored_epochs(run_dir: str | os.PathLike[str]) -> list[int]:
    """Epochs whose validation predictions the run folder holds (empty before the first)."""
    try:
        return load_predictions(run_dir).epochs
    except PredictionsError:
        return []


def model_epoch(run_dir: str | os.PathLike[str], last: int) -> int:
    """The epoch whose weights are the run's model (what export, Try images and the report
    use): the best epoch ("Keep the best epoch's model") when it is one of epochs 1..`last`,
    else `last`. Read from the metrics alone: the run may still be training."""
    return saved_epoch(RunFolder.at(run_dir).read_metrics(), last) or last


def epoch_evaluation(run_dir: str | os.PathLike[str], epoch: int | None = None) -> RunEvaluation:
    """Metrics, confusion matrix and per-image records of the validation images after `epoch`
    (default: the last stored epoch)."""
    stored = load_predictions(run_dir)
    if not stored.epochs:
        raise PredictionsError(f"'{run_dir}' has no stored epoch yet")
    epoch = stored.epochs[-1] if epoch is None else epoch
    probabilities = stored.probabilities(epoch)
    classes = stored.classes
    records = tuple(
        image_record(path, classes[true], dict(zip(classes, map(float, row), strict=True)))
        for path, true, row in zip(stored.files, stored.targets, probabilities, strict=True)
    )
    evaluation = evaluate_predictions(stored.targets.tolist(),
                                      probabilities.argmax(1).tolist(), classes)
    images = f"the validation images after epoch {epoch}"
    return RunEvaluation(str(run_dir), images, evaluation, records, ())
