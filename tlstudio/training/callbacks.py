"""Callbacks that act on the run, fastai-style: keep the best epoch, stop early, lower the lr
on a plateau, stop on a NaN loss. Each reacts to engine events and says in the log when it acts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder, save_weights
from tlstudio.training.events import BatchEnded, EpochEnded, Event, LogMessage, RunControl
from tlstudio.training.optim import scale_lr

MIN_DELTA = 1e-4  # a change smaller than this is not progress (float noise at a tiny lr)
MIN_LR = 1e-12  # a learning rate below this already trains nothing; lowering it is no news


class TrainingLoop:
    """What a callback may act on: the model, the optimizer and schedule, and a stop request.

    The batch loop checks it like a RunControl, so a stop requested here ends the epoch.
    """

    def __init__(self, recipe: Recipe, run_dir: Path, model: torch.nn.Module,
                 optimizer: torch.optim.Optimizer, scheduler: LRScheduler,
                 control: RunControl, emit: Callable[[Event], None]) -> None:
        self.recipe, self.run_dir, self.model = recipe, run_dir, model
        self.optimizer, self.scheduler, self.control = optimizer, scheduler, control
        self.emit = emit
        self.stop_reason: str | None = None
        self.failed = False  # the stop was a failure (NaN), not a finished run
        self.best_epoch: int | None = None  # set by BestCheckpoint with its weights written

    def request_stop(self, reason: str, *, failed: bool = False) -> None:
        """End the run after the current batch; the first reason given is kept."""
        if self.stop_reason is None:
            self.stop_reason, self.failed = reason, failed

    def log(self, text: str, level: str = "info") -> None:
        self.emit(LogMessage(text, level))

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def scale_lr(self, factor: float) -> None:
        scale_lr(self.optimizer, self.scheduler, factor)

    @property
    def stopped(self) -> bool:
        return self.control.stopped or self.stop_reason is not None

    def wait_if_paused(self) -> None:
        self.control.wait_if_paused()


class LoopCallback:
    """A subscriber that can act on the TrainingLoop; still a plain one-event callable."""

    loop: TrainingLoop

    def bind(self, loop: TrainingLoop) -> None:
        self.loop = loop

    def __call__(self, event: Event) -> None:
        if isinstance(event, BatchEnded):
            self.after_batch(event)
        elif isinstance(event, EpochEnded):
            self.after_epoch(event)

    def after_batch(self, event: BatchEnded) -> None:
        pass

    def after_epoch(self, event: EpochEnded) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs for this callback to carry on as if never interrupted."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


@dataclass
class Plateau:
    """The best value of a validation metric so far, and the epochs since it last improved."""

    monitor: str  # "val_loss" (lower is better) or "val_accuracy"
    best: float | None = None
    best_epoch: int = 0
    waited: int = 0

    def update(self, event: EpochEnded) -> bool:
        """True when this epoch improved the metric by more than MIN_DELTA."""
        value = getattr(event, self.monitor)
        if self.best is None:
            better = math.isfinite(value)
        elif self.monitor == "val_loss":
            better = value < self.best - MIN_DELTA
        else:
            better = value > self.best + MIN_DELTA
        if better:
            self.best, self.best_epoch, self.waited = value, event.epoch, 0
        else:
            self.waited += 1
        return better

    def describe(self) -> str:
        return f"{self.monitor} {self.best:.4g} at epoch {self.best_epoch}"


class PlateauCallback(LoopCallback):
    """A callback acting on a Plateau; the plateau is what a resumed run restores."""

    plateau: Plateau

    def state_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.plateau)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.plateau = Plateau(**state)


class BestCheckpoint(PlateauCallback):
    """Write the weights of each new best epoch to the run folder; the engine makes
    them the run's model at the end."""

    def __init__(self, monitor: str) -> None:
        self.plateau = Plateau(monitor)

    def after_epoch(self, event: EpochEnded) -> None:
        if not self.plateau.update(event):
            return
        path = RunFolder.at(self.loop.run_dir).best_weights
        save_weights(path, self.loop.model)
        self.loop.best_epoch = event.epoch
        self.loop.log(f"Best so far: {self.plateau.describe()}; saved {path.name}")


class EarlyStopping(PlateauCallback):
    def __init__(self, monitor: str, patience: int) -> None:
        self.plateau, self.patience = Plateau(monitor), patience

    def after_epoch(self, event: EpochEnded) -> None:
        self.plateau.update(event)
        if self.plateau.best is not None and self.plateau.waited >= self.patience:
            text = (f"Early stopping after epoch {event.epoch}: {self.plateau.monitor} has not "
                    f"improved for {self.patience} epoch(s) (best {self.plateau.describe()})")
            self.loop.log(text)
            self.loop.request_stop(text)


class ReduceLROnPlateau(PlateauCallback):
    def __init__(self, monitor: str, patience: int, factor: float) -> None:
        self.plateau, self.patience, self.factor = Plateau(monitor), patience, factor

    def after_epoch(self, event: EpochEnded) -> None:
        self.plateau.update(event)
        if self.plateau.best is None or self.plateau.waited < self.patience:
            return
        if event.epoch >= event.epochs or self.loop.lr < MIN_LR:
            return  # no epoch left to train at a lower rate, or nothing left to lower (one-cycle)
        before = self.loop.lr
        self.loop.scale_lr(self.factor)
        self.plateau.waited = 0  # give the lower rate as long to help as the first one
        self.loop.log(f"Reducing the learning rate from {before:.3g} to {self.loop.lr:.3g}:"
                      f" {self.plateau.monitor} has not improved for {self.patience} epoch(s)")


class StopOnNonFiniteLoss(LoopCallback):
    def after_batch(self, event: BatchEnded) -> None:
        if math.isfinite(event.loss):
            return
        text = (f"Training stopped: the loss became {event.loss} at epoch {event.epoch}, batch "
                f"{event.batch}. The learning rate ({event.lr:.3g}) is probably too high; "
                "try one 10 times lower.")
        self.loop.log(text, "warning")
        self.loop.request_stop(text, failed=True)


def recipe_callbacks(recipe: Recipe) -> list[LoopCallback]:
    """The callbacks the recipe asks for, in the order they act after an epoch."""
    callbacks: list[LoopCallback] = [StopOnNonFiniteLoss()]
    if recipe.keep_best and not recipe.all_data:  # all_data: no validation, the last epoch
        callbacks.append(BestCheckpoint(recipe.monitor))
    if recipe.reduce_lr_patience is not None:
        callbacks.append(ReduceLROnPlateau(recipe.monitor, recipe.reduce_lr_patience,
                                           recipe.reduce_lr_factor))
    if recipe.early_stopping_patience is not None:
        callbacks.append(EarlyStopping(recipe.monitor, recipe.early_stopping_patience))
    if recipe.tensorboard:
        from tlstudio.training.tensorboard_log import TensorBoardLog  # an optional package

        callbacks.append(TensorBoardLog(recipe))
    return callbacks
