"""The training engine: the fit and its stages, its events and callbacks, the feature cache."""

from tlstudio.devices import resolve_device
from tlstudio.training.callbacks import LoopCallback, TrainingLoop
from tlstudio.training.cross_validation import (
    CrossValidationResult,
    FoldScore,
    cross_validate,
    fold_scans,
    fold_summary,
    scan_for_folds,
    train_fold,
    write_cross_validation,
)
from tlstudio.training.distributed import is_main_process
from tlstudio.training.engine import RunResult, fit, resumable_run, resume_recipe, resume_run
from tlstudio.training.events import (
    BatchEnded,
    Callback,
    EpochEnded,
    Event,
    FitEnded,
    FitStarted,
    FoldEnded,
    LogMessage,
    PhaseProgress,
    RunControl,
)
from tlstudio.training.feature_cache import FeatureStore, extract_features
from tlstudio.training.stages import training_scans

__all__ = [
    "BatchEnded",
    "Callback",
    "CrossValidationResult",
    "EpochEnded",
    "Event",
    "FeatureStore",
    "FitEnded",
    "FitStarted",
    "FoldScore",
    "FoldEnded",
    "LogMessage",
    "LoopCallback",
    "PhaseProgress",
    "RunControl",
    "RunResult",
    "TrainingLoop",
    "is_main_process",
    "cross_validate",
    "extract_features",
    "fit",
    "fold_scans",
    "fold_summary",
    "resolve_device",
    "resumable_run",
    "resume_recipe",
    "resume_run",
    "scan_for_folds",
    "train_fold",
    "write_cross_validation",
    "training_scans",
]
