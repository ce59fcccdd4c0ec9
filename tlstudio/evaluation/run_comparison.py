"""Runs side by side: each run's curves and headline metrics, and the recipe settings in which
the runs differ (what the window's runs comparison shows). Qt-free; read in a background job."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tlstudio.errors import EvaluationError, PredictionsError, TlstudioError
from tlstudio.evaluation.metrics import evaluate_predictions
from tlstudio.recipe import Recipe
from tlstudio.runs import (
    RunFolder,
    RunInfo,
    RunSummary,
    load_predictions,
    read_run_info,
    summarize_run,
)
from tlstudio.runs.info import saved_epoch
from tlstudio.settings import settings_of

# The run folder itself differs between any two runs: the runs are named by it already.
NOT_COMPARED = frozenset({"out_dir"})
NO_RECIPE = "—"  # a run without a recipe (an ensemble trains nothing)


@dataclass(frozen=True)
class Curves:
    """A run's per-epoch history, as the training tab plots it (accuracy as a fraction). The
    validation values have epochs of their own: a run trained on all its images (`all_data`)
    has training curves and none for validation."""

    epochs: tuple[int, ...]  # of the training values
    val_epochs: tuple[int, ...]  # of the validation values
    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    train_accuracy: tuple[float, ...]
    val_accuracy: tuple[float, ...]

    def epochs_of(self, key: str) -> tuple[int, ...]:
        """The epochs of the curve named `key` (train_loss, val_accuracy, ...)."""
        return self.val_epochs if key.startswith("val") else self.epochs


@dataclass(frozen=True)
class ComparedRun:
    summary: RunSummary  # name, backbone, strategy, best val accuracy, seconds, status
    curves: Curves
    macro_f1: float | None  # the saved model's macro-F1 on the validation images, if stored
    has_recipe: bool  # False for an ensemble or a folder whose recipe cannot be read

    @property
    def name(self) -> str:
        return self.summary.name


@dataclass(frozen=True)
class RecipeDifference:
    """One recipe setting whose value is not the same in every run that has a recipe."""

    field: str  # the Recipe field
    label: str  # its name in the window (Setting.label)
    values: tuple[str, ...]  # one text per run, in the runs' order (NO_RECIPE: none)


@dataclass(frozen=True)
class RunsComparison:
    runs: tuple[ComparedRun, ...]
    differences: tuple[RecipeDifference, ...]  # only the settings that differ
    same_settings: int  # how many compared settings every recipe shares


def compare_runs(run_dirs: Sequence[str | os.PathLike[str]]) -> RunsComparison:
    """Two or more run folders side by side; EvaluationError for fewer."""
    if len(run_dirs) < 2:
        raise EvaluationError("Choose at least two runs to compare")
    infos = [_read(run_dir) for run_dir in run_dirs]
    runs = tuple(
        ComparedRun(
            summarize_run(run_dir),
            curves_of(info.metrics),
            _macro_f1(info),
            info.recipe is not None,
        )
        for run_dir, info in zip(run_dirs, infos, strict=True)
    )
    differences, same = recipe_differences([info.recipe for info in infos])
    return RunsComparison(runs, tuple(differences), same)


def _read(run_dir: str | os.PathLike[str]) -> RunInfo:
    try:
        return read_run_info(run_dir)
    except (TlstudioError, ValueError, OSError):
        folder = RunFolder.at(run_dir)  # what can be read is compared; the rest shows unknown
        return RunInfo(folder, None, None, folder.read_metrics())


def curves_of(metrics: dict[str, Any]) -> Curves:
    """The epochs of a metrics.json: the training curves from the epochs with both training
    values, the validation curves from those with both validation values (none, for a run that
    held no images out)."""
    epochs = [e for e in metrics.get("epochs", ()) if isinstance(e, dict)]
    train = _epochs_with(epochs, ("train_loss", "train_accuracy"))
    val = _epochs_with(epochs, ("val_loss", "val_accuracy"))
    return Curves(
        tuple(number for number, _ in train),
        tuple(number for number, _ in val),
        tuple(float(e["train_loss"]) for _, e in train),
        tuple(float(e["val_loss"]) for _, e in val),
        tuple(float(e["train_accuracy"]) for _, e in train),
        tuple(float(e["val_accuracy"]) for _, e in val),
    )


def _epochs_with(
    epochs: list[dict[str, Any]], keys: tuple[str, ...]
) -> list[tuple[int, dict[str, Any]]]:
    """(epoch number, entry) of the entries holding a number for each of `keys`."""
    return [
        (int(e.get("epoch", i + 1)), e)
        for i, e in enumerate(epochs)
        if all(isinstance(e.get(k), int | float) for k in keys)
    ]


def _macro_f1(run: RunInfo) -> float | None:
    """The saved model's macro-F1 from the stored validation predictions; else what the
    metrics say (an ensemble's own score, a cross-validation's mean); else None."""
    try:
        stored = load_predictions(run.path)
    except (PredictionsError, OSError, ValueError):
        stored = None
    if stored is not None and stored.epochs:
        epoch = saved_epoch(run.metrics, run.epochs_trained)
        epoch = epoch if epoch in stored.epochs else stored.epochs[-1]
        predicted = stored.probabilities(epoch).argmax(1).tolist()
        evaluation = evaluate_predictions(stored.targets.tolist(), predicted, stored.classes)
        return None if evaluation.macro.f1 is None else float(evaluation.macro.f1)
    for section, key in (("ensemble", "macro_f1"), ("cross_validation", "macro_f1_mean")):
        value = run.metrics.get(section, {})
        if isinstance(value, dict) and isinstance(value.get(key), int | float):
            return float(value[key])
    return None


def recipe_differences(recipes: Sequence[Recipe | None]) -> tuple[list[RecipeDifference], int]:
    """The settings whose values differ among the recipes that exist, in declaration order,
    and how many are the same; with fewer than two recipes nothing can differ."""
    present = [r.to_dict() for r in recipes if r is not None]
    if len(present) < 2:
        return [], 0
    differences, same = [], 0
    for name, setting, _default in settings_of(Recipe):
        if name in NOT_COMPARED:
            continue
        values = [d.get(name) for d in present]
        if all(v == values[0] for v in values[1:]):
            same += 1
            continue
        texts = tuple(
            NO_RECIPE if r is None else value_text(r.to_dict().get(name), setting.none_means)
            for r in recipes
        )
        differences.append(RecipeDifference(name, setting.label, texts))
    return differences, same


def value_text(value: Any, none_means: str = "") -> str:
    """A setting's value as a table cell shows it."""
    if value is None:
        return none_means or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "none"
    return str(value)
