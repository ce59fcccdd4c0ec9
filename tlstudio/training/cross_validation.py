"""Stratified K-fold cross-validation: the recipe trained once per fold with `fit` on scans of
its own, each fold's model scoring the images it did not train on.

The run folder (the recipe's out_dir) holds each fold's own run in folds/1 ... folds/K, the
out-of-fold predictions of every image, and metrics.json with each fold's metrics (its saved
epoch's entry plus accuracy and macro-F1) and their mean and standard deviation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from tlstudio.data import DatasetScan, resolve_data_folders, scan_folder
from tlstudio.errors import DatasetError, RecipeError
from tlstudio.recipe import Recipe
from tlstudio.runs import (
    OutOfFold,
    RunFolder,
    claim_free_run_folder,
    claim_run_folder,
    load_predictions,
    read_run_info,
    write_oof_predictions,
)
from tlstudio.training.engine import fit
from tlstudio.training.events import Callback, FoldEnded, LogMessage, RunControl
from tlstudio.training.feature_cache import FeatureStore


@dataclass(frozen=True)
class FoldScore:
    """What one fold's saved model did on its held-out images."""

    metrics: dict[str, Any]  # the saved epoch's metrics plus accuracy, macro_f1, train_seconds
    rows: list[OutOfFold]


@dataclass(frozen=True)
class CrossValidationResult:
    run_dir: str
    folds: tuple[dict[str, Any], ...]  # metrics.json's `folds`
    summary: dict[str, float]  # metrics.json's `cross_validation`
    stopped: bool  # a stop request ended it before the last fold


def fold_scans(scan: DatasetScan, folds: int, seed: int
               ) -> list[tuple[DatasetScan, DatasetScan]]:
    """(training, held-out) scans of each fold: stratified, seeded, every image held out once."""
    labels = np.array([label for _, label in scan.samples])
    counts = np.bincount(labels, minlength=len(scan.classes))
    smallest = int(np.argmin(np.where(counts > 0, counts, counts.max() + 1)))
    if counts[smallest] < folds:
        raise DatasetError(f"Class '{scan.classes[smallest]}' has {counts[smallest]} image(s); "
                           f"{folds} folds need at least {folds} per class, so every fold "
                           "holds out one")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed % 2**32)
    samples = scan.samples
    return [(replace(scan, samples=tuple(samples[i] for i in train)),
             replace(scan, samples=tuple(samples[i] for i in held), skipped=()))
            for train, held in splitter.split(np.zeros(len(labels)), labels)]


def scan_for_folds(recipe: Recipe) -> DatasetScan:
    """Every image the folds share: the training folder's, and the validation folder's too
    when there is one (a train/ + val/ root gives both): each is held out by one fold."""
    folders = resolve_data_folders(recipe.data_dir, recipe.val_dir)
    train = scan_folder(folders.train_dir)
    if not folders.val_dir:
        return train
    val = scan_folder(folders.val_dir, classes=train.classes)
    return replace(train, samples=tuple(sorted(train.samples + val.samples)),
                   skipped=train.skipped + val.skipped)


def cross_validate(
    recipe: Recipe,
    callbacks: Sequence[Callback] = (),
    control: RunControl | None = None,
    overwrite: bool = False,
    scan: DatasetScan | None = None,
    features: FeatureStore | None = None,
    fresh_folder: bool = False,
) -> CrossValidationResult:
    """Train `recipe` on each of its `folds` folds; write the folds' runs, the out-of-fold
    predictions and the summary into its out_dir (`overwrite` and `fresh_folder` as for
    `fit`). `scan` (every image) replaces scanning."""
    folds = recipe.folds
    if not folds:
        raise RecipeError("cross-validation needs at least 2 folds")
    control = control or RunControl()
    scan = scan or scan_for_folds(recipe)
    splits = fold_scans(scan, folds, recipe.seed)  # refused before an old run is replaced
    claim = (claim_free_run_folder(recipe.out_dir) if fresh_folder and not overwrite
             else claim_run_folder(recipe.out_dir, overwrite))
    with claim:
        folder = claim.folder
        scores: list[FoldScore] = []
        for number, scans in enumerate(splits, 1):
            score = train_fold(recipe.replace(folds=None, out_dir=str(folder.fold(number))),
                               number, folds, scans, callbacks, control, features)
            if score is None:
                break
            scores.append(score)
        return write_cross_validation(folder, recipe, scan.classes, scores,
                                      stopped=len(scores) < folds)


def train_fold(recipe: Recipe, number: int, folds: int, scans: tuple[DatasetScan, DatasetScan],
               callbacks: Sequence[Callback] = (), control: RunControl | None = None,
               features: FeatureStore | None = None, strategy: str = "") -> FoldScore | None:
    """Fit `recipe` (its out_dir the fold's own folder) on the fold's scans and score its held-out
    images; FoldEnded tells the callbacks. None when a stop request ended the fit."""
    _emit(callbacks, LogMessage(f"Fold {number} of {folds}: training on {len(scans[0])} "
                                f"images, scoring {len(scans[1])}"))
    begun = time.perf_counter()
    result = fit(recipe, callbacks, control, overwrite=True, scans=scans, features=features)
    if result.stopped:
        return None
    score = score_fold(Path(result.run_dir), number, time.perf_counter() - begun)
    metrics = score.metrics
    _emit(callbacks, FoldEnded(number, folds, result.run_dir, metrics["accuracy"],
                               metrics["macro_f1"], metrics["train_seconds"], strategy,
                               recipe.backbone))
    return score


def score_fold(run_dir: Path, number: int, seconds: float) -> FoldScore:
    """The fold's saved model's predictions on its held-out images (stored by the fit)."""
    info = read_run_info(run_dir)
    epoch = info.saved_epoch()
    stored = load_predictions(run_dir)
    probabilities = stored.probabilities(epoch)
    predicted = probabilities.argmax(1)
    present = sorted(set(stored.targets.tolist()))
    metrics = dict(info.metrics["epochs"][epoch - 1])
    metrics.update(fold=number, run=str(run_dir), train_seconds=seconds,
                   accuracy=float((predicted == stored.targets).mean()),
                   macro_f1=float(f1_score(stored.targets, predicted, labels=present,
                                           average="macro", zero_division=0)))
    rows = [OutOfFold(path, stored.classes[label], number, tuple(map(float, p)))
            for path, label, p in zip(stored.files, stored.targets, probabilities, strict=True)]
    return FoldScore(metrics, rows)


def fold_summary(folds: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Mean and (population) standard deviation of accuracy and macro-F1 over the folds."""
    out = {}
    for key in ("accuracy", "macro_f1"):
        values = np.array([f[key] for f in folds], dtype=float)
        out[f"{key}_mean"] = float(values.mean()) if len(values) else float("nan")
        out[f"{key}_std"] = float(values.std()) if len(values) else float("nan")
    return out


def write_cross_validation(folder: RunFolder, recipe: Recipe, classes: tuple[str, ...],
                           scores: list[FoldScore], stopped: bool) -> CrossValidationResult:
    """metrics.json (folds, their summary) and the out-of-fold predictions of the folds done."""
    folds = tuple(s.metrics for s in scores)
    cv = fold_summary(folds)
    rows = sorted((r for s in scores for r in s.rows), key=lambda r: r.path)
    write_oof_predictions(folder.path, rows, classes)
    recipe.save(folder.recipe)
    folder.write_metrics({"classes": list(classes), "backbone": recipe.backbone,
                          "folds": list(folds), "cross_validation": cv, "stopped": stopped})
    return CrossValidationResult(str(folder.path), folds, cv, stopped)


def _emit(callbacks: Sequence[Callback], event: Any) -> None:
    for callback in callbacks:
        callback(event)
