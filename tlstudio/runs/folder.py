"""The names of a run folder's files, in one place: every module reaches them through `RunFolder`.

A run folder holds what training wrote (recipe, metrics, checkpoint, model, best epoch's weights,
validation predictions), what export and the report write beside it, and the claim marker of
the process training into it. The JSON files are written atomically and read back here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlstudio import atomic

METRICS = "metrics.json"
RECIPE = "recipe.json"
MODEL_WEIGHTS = "model.safetensors"
MODEL_INFO = "model.json"
CHECKPOINT = "checkpoint.pt"
BEST_WEIGHTS = "best_model.safetensors"
PREDICTIONS = "val_predictions.safetensors"
EXPORT_FOLDER = "export"
EXPORT_STEM = "model"  # export/onnx/model.onnx, export/tflite-int8/model.tflite, ...
# The usage examples beside each export, by language (example.py runs with the format's runtime).
EXPORT_EXAMPLES = {"python": "example.py", "javascript": "example.js", "csharp": "Example.cs",
                   "kotlin": "Example.kt", "swift": "Example.swift"}
REPORT = "report.html"
ENSEMBLE = "ensemble.json"  # an ensemble's members, method and weights (see ensemble/)
TENSORBOARD = "tensorboard"  # event files of the recipe's `tensorboard` setting
FOLDS = "folds"  # cross-validation: each fold's own run in folds/1, folds/2, ...
OOF_PREDICTIONS = "oof_predictions.csv"  # cross-validation: every image scored out of fold
COMPARE = "compare.json"  # a strategy comparison's results (in its --out folder)
COMPARE_CHART = "compare.png"  # its chart
CLAIM = ".tlstudio-claim"  # held by the process training into the folder (see runs.claim)

# The names users recognise first; a refusal to replace a run lists those present.
HEADLINE = (METRICS, MODEL_WEIGHTS, CHECKPOINT)
# Any of these also says the folder holds (part of) a run.
OTHER_OUTPUTS = (MODEL_INFO, BEST_WEIGHTS, PREDICTIONS, EXPORT_FOLDER, TENSORBOARD, ENSEMBLE,
                 FOLDS, OOF_PREDICTIONS, COMPARE, COMPARE_CHART)
# Cleared with a replaced run, but no sign of a run alone (rewritten, or the user's report).
CLEARED_TOO = (RECIPE, REPORT)


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run's files; nothing is read until asked."""

    path: Path

    @classmethod
    def at(cls, run_dir: str | os.PathLike[str]) -> RunFolder:
        return cls(Path(run_dir))

    metrics = property(lambda self: self.path / METRICS)
    recipe = property(lambda self: self.path / RECIPE)
    model_weights = property(lambda self: self.path / MODEL_WEIGHTS)
    model_info = property(lambda self: self.path / MODEL_INFO)
    checkpoint = property(lambda self: self.path / CHECKPOINT)
    best_weights = property(lambda self: self.path / BEST_WEIGHTS)
    predictions = property(lambda self: self.path / PREDICTIONS)
    export_folder = property(lambda self: self.path / EXPORT_FOLDER)
    report = property(lambda self: self.path / REPORT)
    tensorboard = property(lambda self: self.path / TENSORBOARD)
    claim_marker = property(lambda self: self.path / CLAIM)
    ensemble = property(lambda self: self.path / ENSEMBLE)
    oof_predictions = property(lambda self: self.path / OOF_PREDICTIONS)
    compare = property(lambda self: self.path / COMPARE)
    compare_chart = property(lambda self: self.path / COMPARE_CHART)

    def fold(self, number: int) -> Path:
        """Cross-validation fold `number`'s own run folder (1-based)."""
        return self.path / FOLDS / str(number)

    def strategy(self, backbone: str, strategy: str) -> Path:
        """A comparison's run folder for one backbone and strategy."""
        return self.path / backbone / strategy

    def export_file(self, variant: str, suffix: str) -> Path:
        """Where an export goes by default: a folder per `variant` (`onnx`, `onnx-int8`, ...),
        so each keeps its own usage examples; `suffix` is its format's file extension."""
        return self.export_folder / variant / f"{EXPORT_STEM}{suffix}"

    def has_model(self) -> bool:
        """Training finished at least one epoch and saved the run's model."""
        return self.model_weights.is_file()

    def looks_like_run(self) -> bool:
        """The folder holds a trained model or the stored predictions of a run in progress."""
        return self.model_info.is_file() or self.predictions.is_file()

    def run_files(self) -> tuple[str, ...]:
        """The names of a finished or interrupted run's files present in the folder."""
        return tuple(n for n in (*HEADLINE, *OTHER_OUTPUTS) if (self.path / n).exists())

    def is_ensemble(self) -> bool:
        """The folder holds an ensemble of other runs' models (`tlstudio ensemble`)."""
        return self.ensemble.is_file()

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        atomic.write_json(self.metrics, metrics)

    def read_metrics(self) -> dict[str, Any]:
        """metrics.json as a dict; empty when it is missing or unreadable (a run just begun)."""
        return read_json_or_empty(self.metrics)


def read_json_or_empty(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
