"""The training engine: the fit loop, its events, the feature cache and the run's files."""

from tlstudio.training.callbacks import LoopCallback, TrainingLoop
from tlstudio.training.engine import RunResult, fit, resolve_device, resume_recipe, resume_run
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
    "fit",
    "resolve_device",
    "resume_recipe",
    "resume_run",
]
