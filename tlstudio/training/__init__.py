"""The training engine: the fit and its stages, its events and callbacks, the feature cache."""

from tlstudio.devices import resolve_device
from tlstudio.training.callbacks import LoopCallback, TrainingLoop
from tlstudio.training.distributed import is_main_process
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
    "is_main_process",
    "fit",
    "resolve_device",
    "resumable_run",
    "resume_recipe",
    "resume_run",
]
