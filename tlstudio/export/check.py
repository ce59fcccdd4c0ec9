"""Parity check: the exported file, loaded back, must give the trained model's probabilities."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from tlstudio.data.images import UnreadableImage, load_rgb
from tlstudio.data.transforms import eval_transform
from tlstudio.errors import ExportError, ModelFileError
from tlstudio.inference import Predictor, ProbabilityModel
from tlstudio.runs.model_files import ModelInfo

PARITY_TOLERANCE = 1e-4  # max absolute difference of any class probability
FOUND_IMAGES = 4  # images taken from the recipe's folders when none are given
MIN_BATCH = 3  # random inputs pad the batch to this size, so a dynamic batch is exercised
FILES_TRIED = 50  # stop looking for readable images in the recipe's folders after this many


@dataclass(frozen=True)
class CheckBatch:
    images: torch.Tensor  # float RGB [0, 1], NCHW at the model's input size
    image_count: int  # how many rows are real images; the rest are random


def check_batch(info: ModelInfo, check_images: Sequence[str] = ()) -> CheckBatch:
    """The given images, else a few from the recipe's folders, padded with random inputs."""
    transform = eval_transform(info.image_size)
    if check_images:
        tensors = [transform(_load_check_image(p)) for p in check_images]
    else:
        tensors = [transform(load_rgb(p)) for p in _recipe_images(info.recipe)]
    count = len(tensors)
    size = info.image_size
    padding = max(0, MIN_BATCH - count)
    generator = torch.Generator().manual_seed(0)
    tensors.extend(torch.rand(3, size, size, generator=generator) for _ in range(padding))
    return CheckBatch(torch.stack(tensors), count)


def _load_check_image(path: str):
    try:
        return load_rgb(path)
    except UnreadableImage as e:
        raise ExportError(f"The check image '{path}' cannot be used: {e.reason}") from None


def _recipe_images(recipe: dict[str, Any]) -> list[str]:
    """Up to FOUND_IMAGES readable images from the validation folder, else the training one."""
    for key in ("val_dir", "data_dir"):
        folder = recipe.get(key)
        if folder and os.path.isdir(folder):
            found = _readable_images(folder)
            if found:
                return found
    return []


def _readable_images(folder: str) -> list[str]:
    found: list[str] = []
    tried = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(f for f in filenames if not f.startswith(".")):
            tried += 1
            path = os.path.join(dirpath, name)
            try:
                load_rgb(path)
            except UnreadableImage:
                continue
            found.append(path)
            if len(found) >= FOUND_IMAGES or tried >= FILES_TRIED:
                return found
    return found


def check_parity(
    reference: ProbabilityModel,
    open_export: Callable[[os.PathLike[str]], Predictor],
    path: os.PathLike[str],
    batch: CheckBatch,
) -> float:
    """Max abs probability difference between `reference` and the export at `path`.

    `open_export` loads it as inference will. Raises ExportError when the export cannot be
    loaded back or disagrees by more than PARITY_TOLERANCE.
    """
    try:
        exported = open_export(path)
    except ModelFileError as e:
        raise ExportError(f"The exported file cannot be loaded back: {e}") from None
    with torch.inference_mode():
        expected = reference(batch.images).numpy()
    actual = np.asarray(exported.predict_tensor(batch.images))
    if actual.shape != expected.shape:
        raise ExportError(
            f"The exported model returns shape {actual.shape} for a batch of "
            f"{len(batch.images)}, expected {expected.shape}"
        )
    diff = float(np.max(np.abs(actual - expected)))
    if not diff <= PARITY_TOLERANCE:  # also catches NaN
        raise ExportError(
            f"The exported model disagrees with the trained model: probabilities differ by up "
            f"to {diff:.3g} (allowed {PARITY_TOLERANCE:g}), so it was not saved"
        )
    return diff
