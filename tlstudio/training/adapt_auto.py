"""Auto domain adaptation: each method that fits the recipe is trained in a scratch folder and
scored on the labelled target images; the best (no adaptation unless one beats it) is the one
the run then trains with."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlstudio.errors import RecipeError
from tlstudio.recipe import ADAPTS, Recipe
from tlstudio.runs import read_run_info
from tlstudio.training.events import Callback, LogMessage, RunControl

CANDIDATES = tuple(m for m in ADAPTS if m != "auto")  # "none" first: it wins ties


@dataclass(frozen=True)
class AdaptationChoice:
    method: str
    candidates: dict[str, float] = field(default_factory=dict)  # method -> target accuracy

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "chosen_by": "target_accuracy",
                "candidates": dict(self.candidates)}


def choose_adaptation(recipe: Recipe, fit: Callable[..., Any], callbacks: Sequence[Callback],
                      control: RunControl | None, scans: Any = None) -> AdaptationChoice:
    """Train the recipe once per method that suits its layers (a method that does not is
    left out), each in a scratch folder, and pick the best target accuracy of its saved model."""
    scores: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="tlstudio-adapt-") as scratch:
        for method in CANDIDATES:
            trial = recipe.replace(adapt=method, out_dir=str(Path(scratch) / method),
                                   tensorboard=False)
            try:
                fit(trial, control=control, scans=scans)
            except RecipeError:
                continue  # e.g. align with trainable stages
            scores[method] = _saved_target_accuracy(trial.out_dir)
            _tell(callbacks, f"Auto adaptation: {method} reaches {scores[method]:.1%} on the "
                             "labelled target images")
    best = max(scores, key=lambda m: (scores[m], m == "none"))
    _tell(callbacks, f"Auto adaptation chose {best}")
    return AdaptationChoice(best, scores)


def _saved_target_accuracy(run_dir: str) -> float:
    info = read_run_info(run_dir)
    epoch = info.saved_epoch()
    return float(info.metrics["epochs"][epoch - 1]["target_accuracy"]) if epoch else 0.0


def _tell(callbacks: Sequence[Callback], text: str) -> None:
    for callback in callbacks:
        callback(LogMessage(text))
