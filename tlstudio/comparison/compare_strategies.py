"""`tlstudio compare`: the transfer strategies on identical splits of one data set, per backbone.

Every strategy trains on the same folds (or the same held-out split) through `train_fold`, so
each strategy's folder is a cross-validated run (folds/N, metrics.json, out-of-fold
predictions). The head-only strategies share a FeatureStore: one feature extraction per backbone
and fold. Folds run outer, strategies inner, so a tight budget still tries every strategy once.
compare.json and its chart sit in the comparison's folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tlstudio import atomic
from tlstudio.comparison.budget import Budget
from tlstudio.comparison.chart import write_chart
from tlstudio.comparison.strategies import FINE_TUNING, strategy_recipe
from tlstudio.comparison.verdict import best_strategy, conclusions, pretrained_helped
from tlstudio.data import DatasetScan, resolve_data_folders, scan_folder, stratified_split
from tlstudio.errors import RecipeError
from tlstudio.models import get_spec
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder, claim_run_folder
from tlstudio.training import (
    Callback,
    FeatureStore,
    FoldScore,
    RunControl,
    fold_scans,
    fold_summary,
    scan_for_folds,
    train_fold,
    write_cross_validation,
)


@dataclass
class StrategyRun:
    """One strategy on one backbone, filled in fold by fold."""

    strategy: str
    backbone: str
    recipe: Recipe  # as the strategy trains it (out_dir: its folder)
    scores: list[FoldScore] = field(default_factory=list)
    images: int = 0  # training images seen over the folds' epochs (for images/s)

    def row(self) -> dict[str, Any]:
        """compare.json's entry."""
        folds = [{"accuracy": s.metrics["accuracy"], "macro_f1": s.metrics["macro_f1"],
                  "seconds": s.metrics["train_seconds"]} for s in self.scores]
        cv = fold_summary(folds)
        seconds = sum(f["seconds"] for f in folds)
        return {"strategy": self.strategy, "backbone": self.backbone, "folds": folds, **cv,
                "seconds": seconds, "images_per_second": self.images / seconds if seconds
                else 0.0}


@dataclass(frozen=True)
class Comparison:
    path: str  # the comparison's folder
    result: dict[str, Any]  # compare.json
    chart: str
    lines: tuple[str, ...]  # what it found, in words
    stopped: bool


def compare(recipe: Recipe, backbones: Sequence[str], strategies: Sequence[str],
            budget_minutes: float | None = None, callbacks: Sequence[Callback] = (),
            control: RunControl | None = None, overwrite: bool = False) -> Comparison:
    """Run `strategies` on `backbones` over the recipe's folds (or its held-out split) into
    the recipe's out_dir; write compare.json and the chart."""
    if not backbones or not strategies:
        raise RecipeError("a comparison needs at least one backbone and one strategy")
    for backbone in backbones:  # a typo found after the first backbone trained left a half run
        get_spec(backbone)
    splits = _splits(recipe)
    budget = Budget(budget_minutes * 60 if budget_minutes else None)
    store, skipped = FeatureStore(), []
    with claim_run_folder(recipe.out_dir, overwrite) as claim:
        folder = claim.folder
        runs = {(b, s): StrategyRun(s, b, _strategy_recipe(recipe, b, s, folder))
                for b in backbones for s in strategies}
        stopped = False
        for number, scans in enumerate(splits, 1):
            for run in runs.values():
                stopped = not _run_fold(run, number, len(splits), scans, budget, store,
                                        callbacks, control, skipped)
                if stopped:
                    break
            if stopped:
                break
        return _finish(folder, runs, splits, skipped, stopped, store)


def _splits(recipe: Recipe) -> list[tuple[DatasetScan, DatasetScan]]:
    """The folds, or one held-out split: the same for every strategy and backbone."""
    if recipe.folds:  # a validation folder's images join the folds
        return fold_scans(scan_for_folds(recipe), recipe.folds, recipe.seed)
    folders = resolve_data_folders(recipe.data_dir, recipe.val_dir)
    train = scan_folder(folders.train_dir)
    if folders.val_dir:
        return [(train, scan_folder(folders.val_dir, classes=train.classes))]
    return [stratified_split(train, recipe.val_split, recipe.seed)]


def _strategy_recipe(recipe: Recipe, backbone: str, strategy: str, folder: RunFolder) -> Recipe:
    base = recipe.replace(backbone=backbone, folds=None)
    return strategy_recipe(base, strategy).replace(out_dir=str(folder.strategy(backbone,
                                                                               strategy)))


def _run_fold(run: StrategyRun, number: int, folds: int, scans, budget: Budget,
              store: FeatureStore, callbacks, control, skipped: list[str]) -> bool:
    """Train `run`'s fold `number` if the budget allows (fewer epochs if only those fit);
    False when a stop request ended it."""
    recipe, key = run.recipe, (run.backbone, run.strategy)
    minimum = 2 if recipe.head_epochs else 1
    epochs = budget.epochs_that_fit(key, recipe.epochs, fallback=_fallback(run), minimum=minimum)
    what = f"{run.strategy} ({run.backbone}) fold {number}"
    if epochs == 0:
        skipped.append(f"{what}: skipped, the time budget is spent")
        return True
    if epochs < recipe.epochs:
        skipped.append(f"{what}: {epochs} of {recipe.epochs} epochs, as the budget allows")
        recipe = recipe.replace(epochs=epochs, head_epochs=min(recipe.head_epochs, epochs // 2))
    fold_recipe = recipe.replace(out_dir=str(RunFolder.at(recipe.out_dir).fold(number)))
    score = train_fold(fold_recipe, number, folds, scans, callbacks, control, store,
                       run.strategy)
    if score is None:
        return False
    run.scores.append(score)
    ran = 1 if recipe.head != "linear" else recipe.epochs
    run.images += len(scans[0]) * ran
    budget.measured(key, score.metrics["train_seconds"], ran)
    return True


def _fallback(run: StrategyRun) -> object | None:
    """Whose speed judges an unmeasured strategy: full fine-tuning's for the fine-tuning ones
    (a conservative guess), none for the head-only ones (cheap once the features exist)."""
    return (run.backbone, "full") if run.strategy in FINE_TUNING else None


def _finish(folder: RunFolder, runs: dict, splits, skipped: list[str], stopped: bool,
            store: FeatureStore) -> Comparison:
    classes = splits[0][0].classes
    for run in runs.values():
        if run.scores:
            write_cross_validation(RunFolder.at(run.recipe.out_dir), run.recipe, classes,
                                   run.scores, stopped=len(run.scores) < len(splits))
    rows = [run.row() for run in runs.values() if run.scores]
    skipped += [f"{r.strategy} ({r.backbone}): not run" for r in runs.values() if not r.scores]
    best = best_strategy(rows)
    result = {"strategies": rows, "best": best, "pretrained_helped": pretrained_helped(rows),
              "folds": len(splits), "skipped": skipped,
              "feature_extractions_shared": store.hits}
    atomic.write_json(folder.compare, result)
    chart = write_chart(rows, folder.compare_chart, best)
    return Comparison(str(folder.path), result, str(chart), tuple(conclusions(result)), stopped)
