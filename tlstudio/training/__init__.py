"""The training engine: the fit and its stages, its events and callbacks, the feature cache."""

from tlstudio.devices import resolve_device
from tlstudio.training.callbacks import LoopCallback, TrainingLoop
from tlstudio.training.engine import RunResult, fit, resumable_run, resume_recipe, resume_run
from tlstudio.training.events import (
    BatchEnded,
    Callback,
    EpochEnded,
    Event,
    FitEnded,
    FitStarted,
    LogMessage,
    PhaseProgress,
    RunControl,
)
from tlstudio.training.feature_cache import extract_features
from tlstudio.training.stages import training_scans

__all__ = [
    "BatchEnded",
    "Callback",
    "EpochEnded",
    "Event",
    "FitEnded",
    "FitStarted",
    "LogMessage",
    "LoopCallback",
    "PhaseProgress",
    "RunControl",
    "RunResult",
    "TrainingLoop",
    "extract_features",
    "fit",
    "resolve_device",
    "resumable_run",
    "resume_recipe",
    "resume_run",
    "training_scans",
]
