"""What a run is, read once from its folder: its model's description, recipe, epochs, and the
epoch whose weights are its saved model."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlstudio.recipe import Recipe
from tlstudio.runs.folder import RunFolder
from tlstudio.runs.model_files import ModelInfo, read_model_info


@dataclass(frozen=True)
class RunInfo:
    """A run folder's contents as values; `model` is None until training saved a model."""

    folder: RunFolder
    model: ModelInfo | None  # model.json: classes, preprocessing, the recipe it was trained by
    recipe: Recipe | None  # recipe.json, else the copy in model.json, else None
    metrics: dict[str, Any] = field(repr=False)  # metrics.json ({} while none is written)

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def classes(self) -> tuple[str, ...]:
        if self.model is not None:
            return self.model.classes
        return tuple(self.metrics.get("classes", ()))

    def require_model(self) -> ModelInfo:
        """The model's description; ModelFileError for a folder that holds no trained model."""
        if self.model is None:
            return read_model_info(self.path)  # raises, saying the folder is not a run
        return self.model

    @property
    def has_model(self) -> bool:
        return self.model is not None and self.folder.has_model()

    @property
    def model_path(self) -> Path:
        return self.folder.model_weights

    @property
    def epochs_trained(self) -> int:
        return len(self.metrics.get("epochs", ()))

    def saved_epoch(self, last: int | None = None) -> int | None:
        """The epoch whose weights are the run's model (what export, Try images and the report
        use): the best epoch ("Keep the best epoch's model") when it is one of epochs
        1..`last` (default: the epochs trained), else `last`."""
        return saved_epoch(self.metrics, self.epochs_trained if last is None else last)


def saved_epoch(metrics: dict[str, Any], last: int) -> int | None:
    """The epoch whose weights are the model of a run with these metrics, `last` epochs in."""
    best = metrics.get("best_epoch")
    if isinstance(best, int) and 1 <= best <= last:
        return best
    return last or None


def read_run_info(run_dir: str | os.PathLike[str]) -> RunInfo:
    """The run in `run_dir` as it is on disk now; a folder that is not a run reads as empty
    (check `has_model` or `model`). A model.json that is present but broken raises
    ModelFileError."""
    folder = RunFolder.at(run_dir)
    model = read_model_info(run_dir) if folder.model_info.is_file() else None
    return RunInfo(folder, model, _recipe(folder, model), folder.read_metrics())


def _recipe(folder: RunFolder, model: ModelInfo | None) -> Recipe | None:
    if folder.recipe.is_file():
        return Recipe.load(folder.recipe)
    if model is not None and model.recipe:
        return Recipe.from_dict(model.recipe)
    return None
