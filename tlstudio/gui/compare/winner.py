"""What the window does with a comparison's winner, Qt-free: the run folder of its model to
open or export, and the recipe that trains it again on all the images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder


@dataclass(frozen=True)
class Winner:
    """The best strategy of a finished comparison, and where its runs are."""

    strategy: str
    backbone: str
    folder: Path  # the strategy's cross-validated run folder (recipe.json, folds/N)
    model_run: str | None  # the fold run whose model Open and Export use
    fold: int | None  # that fold's number
    folds: int  # how many folds the strategy trained

    @classmethod
    def of(cls, comparison_dir: str, best: dict[str, Any] | None) -> Winner | None:
        """The winner of compare.json's `best` (None: no strategy finished a fold)."""
        if not best:
            return None
        folder = RunFolder.at(comparison_dir).strategy(best["backbone"], best["strategy"])
        fold, run, folds = best_fold(folder)
        return cls(best["strategy"], best["backbone"], folder, run, fold, folds)

    def recipe(self, out_dir: str) -> Recipe:
        """The strategy's recipe (as the comparison trained it), once, on every image (the
        training and validation folders, nothing held out), into `out_dir`. Callbacks that
        act on a validation metric have none to act on, so they are off."""
        recipe = Recipe.load(RunFolder.at(self.folder).recipe)
        return recipe.replace(
            folds=None,
            out_dir=out_dir,
            all_data=True,
            early_stopping_patience=None,
            reduce_lr_patience=None,
        )


def best_fold(folder: Path) -> tuple[int | None, str | None, int]:
    """The fold whose model scored best on its held-out images: (number, run folder, folds)."""
    folds = RunFolder.at(folder).read_metrics().get("folds", [])
    with_model = [f for f in folds if f.get("run") and RunFolder.at(f["run"]).has_model()]
    if not with_model:
        return None, None, len(folds)
    best = max(with_model, key=lambda f: (f["accuracy"], f["macro_f1"]))
    return int(best["fold"]), str(best["run"]), len(folds)
