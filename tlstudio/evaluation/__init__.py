"""What a trained model gets right and wrong, and why: metrics, per-image results, saliency,
relabelling on disk and a shareable report. Qt-free."""

from __future__ import annotations

from tlstudio.evaluation.calibration import (
    Calibration,
    calibrate_run,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    with_temperature,
)
from tlstudio.evaluation.epochs import epoch_evaluation, stored_epochs
from tlstudio.evaluation.metrics import ClassMetrics, Evaluation, evaluate_predictions
from tlstudio.evaluation.relabel import DatasetEditor, Move, RelabelError
from tlstudio.evaluation.results_state import Load, ResultsState, ShownResults
from tlstudio.evaluation.run_comparison import (
    NO_RECIPE,
    ComparedRun,
    Curves,
    RecipeDifference,
    RunsComparison,
    compare_runs,
)
from tlstudio.evaluation.run_eval import EvaluationError, ImageRecord, RunEvaluation, evaluate_run
from tlstudio.evaluation.saliency import grad_cam, last_conv_layer, overlay, saliency_views

__all__ = [
    "NO_RECIPE",
    "Calibration",
    "ComparedRun",
    "Curves",
    "ClassMetrics",
    "DatasetEditor",
    "Evaluation",
    "EvaluationError",
    "ImageRecord",
    "Load",
    "Move",
    "RelabelError",
    "RecipeDifference",
    "ResultsState",
    "RunsComparison",
    "RunEvaluation",
    "ShownResults",
    "calibrate_run",
    "compare_runs",
    "evaluate_predictions",
    "expected_calibration_error",
    "fit_temperature",
    "reliability_bins",
    "with_temperature",
    "epoch_evaluation",
    "evaluate_run",
    "grad_cam",
    "last_conv_layer",
    "overlay",
    "saliency_views",
    "stored_epochs",
]
