"""The runs of a runs folder, one summary each (name, date, backbone, strategy, best validation
accuracy, training time, status): what `tlstudio runs` prints and the window's runs list shows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tlstudio.errors import ModelFileError, TlstudioError
from tlstudio.recipe import Recipe
from tlstudio.runs.claim import is_claimed
from tlstudio.runs.folder import RunFolder
from tlstudio.runs.info import RunInfo, read_run_info

FINISHED, STOPPED, RUNNING = "finished", "stopped", "running"
# What trained, in the names `tlstudio compare` uses for its strategies.
STRATEGY_NAMES = {1: "last-stage", 2: "last-two"}


@dataclass(frozen=True)
class RunSummary:
    path: Path  # the run folder
    date: datetime  # when the run last wrote its metrics (the folder's time before that)
    backbone: str  # the backbone name; for an ensemble, its members' joined by '+'
    strategy: str  # head, last-stage, last-two, last-N, full, two-phase, custom, ensemble-...
    best_val_accuracy: float | None  # the best epoch's validation accuracy (None: no epoch yet)
    seconds: float  # training time, the epochs' sum
    status: str  # finished, stopped (by the user, a failure or a killed process) or running
    epochs: int = 0  # epochs trained (an ensemble trains none)
    classes: tuple[str, ...] = ()  # the model's classes (empty before a model is saved)

    @property
    def name(self) -> str:
        return self.path.name

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `tlstudio runs --json`."""
        return {"path": str(self.path), "backbone": self.backbone, "strategy": self.strategy,
                "best_val_accuracy": self.best_val_accuracy, "seconds": self.seconds,
                "status": self.status}


def list_runs(runs_dir: str | os.PathLike[str]) -> list[RunSummary]:
    """Every run folder directly under `runs_dir`, newest first; other folders are left out.
    A run whose files cannot be read is still listed, with what could be read."""
    root = Path(runs_dir)
    if not root.is_dir():
        raise ModelFileError(f"'{runs_dir}' is not a folder")
    found = [summarize_run(p) for p in sorted(root.iterdir())
             if p.is_dir() and not p.name.startswith(".") and _holds_run(RunFolder(p))]
    return sorted(found, key=lambda run: run.date, reverse=True)


def _holds_run(folder: RunFolder) -> bool:
    return bool(folder.run_files()) or folder.recipe.is_file() or is_claimed(folder.path)


def summarize_run(run_dir: str | os.PathLike[str]) -> RunSummary:
    """One run folder's summary; what cannot be read shows as unknown."""
    folder = RunFolder.at(os.path.abspath(run_dir))
    try:
        run = read_run_info(folder.path)
    except (TlstudioError, ValueError, OSError):
        run = RunInfo(folder, None, None, folder.read_metrics())
    epochs = [e for e in run.metrics.get("epochs", ()) if isinstance(e, dict)]
    accuracies = [e["val_accuracy"] for e in epochs if isinstance(e.get("val_accuracy"), float)]
    scored = run.metrics.get("ensemble")  # an ensemble trains no epoch: its own scores
    if isinstance(scored, dict) and isinstance(scored.get("accuracy"), float):
        accuracies.append(scored["accuracy"])
    seconds = sum(e.get("seconds", 0.0) for e in epochs)
    if isinstance(scored, dict):
        seconds += float(scored.get("seconds", 0.0))
    return RunSummary(
        path=folder.path,
        date=datetime.fromtimestamp(_changed(folder)),
        backbone=_backbone(run),
        strategy=run.metrics.get("strategy") or strategy_of(run.recipe),
        best_val_accuracy=max(accuracies) if accuracies else None,
        seconds=float(seconds),
        status=_status(run),
        epochs=len(epochs),
        classes=run.classes,
    )


def strategy_of(recipe: Recipe | None) -> str:
    """What trained, in `tlstudio compare`'s names: logreg, svm or knn (a scikit-learn head),
    scratch (random weights), two-phase, head, last-stage, last-two, last-N, full, or custom;
    "unknown" without a recipe."""
    if recipe is None:
        return "unknown"
    if recipe.head != "linear":  # a scikit-learn head on the frozen features: compare's names
        return recipe.head
    if not recipe.pretrained:
        return "scratch"
    if recipe.head_epochs > 0:
        return "two-phase"
    try:
        from tlstudio.models import stage_names  # imports torch

        names = stage_names(recipe.backbone)
    except TlstudioError:  # a backbone this installation does not know
        return "custom"
    backbone_stages, head = names[:-1], names[-1]
    trains = set(recipe.train_stages)
    if trains == {head}:
        return "head"
    for count in range(1, len(backbone_stages) + 1):
        if trains == {*backbone_stages[-count:], head}:
            if count == len(backbone_stages):
                return "full"
            return STRATEGY_NAMES.get(count, f"last-{count}")
    return "custom"


def _backbone(run: RunInfo) -> str:
    if run.model is not None:
        return run.model.backbone
    if run.recipe is not None:
        return run.recipe.backbone
    return str(run.metrics.get("backbone", "unknown"))


def _status(run: RunInfo) -> str:
    if is_claimed(run.path):
        return RUNNING
    if run.has_model and not run.metrics.get("stopped"):
        return FINISHED
    return STOPPED


def _changed(folder: RunFolder) -> float:
    for path in (folder.metrics, folder.path):
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    return 0.0
