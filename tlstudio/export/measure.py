"""What an export costs and keeps: agreement with the trained fp32 model on the run's validation
images, accuracy, probability difference, file size and latency (batch 1, one thread).

The run's images are rebuilt from its recipe (validation split or folder; training images for
int8 calibration); a run whose folders are gone is measured on the check batch alone.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tlstudio.data import (
    DatasetScan,
    UnreadableImage,
    eval_transform,
    load_rgb,
    scan_folder,
    stratified_split,
)
from tlstudio.inference import Predictor, ProbabilityModel
from tlstudio.recipe import Recipe
from tlstudio.runs import ModelInfo

MAX_VALIDATION_IMAGES = 300  # enough for agreement to 0.3 %, quick on a laptop
# int8 ranges are the extremes seen: 64 images kept 96 % agreement on the digits demo, all 300
# of its training images 99 %
MAX_CALIBRATION_IMAGES = 300
WARMUP_RUNS = 3  # first calls allocate and pick kernels
TIMED_RUNS = 15  # median of these is the latency


@dataclass(frozen=True)
class RunImages:
    validation: torch.Tensor  # float RGB [0, 1] NCHW: the images the export is measured on
    labels: tuple[int, ...] | None  # their classes; None when only the check batch was found
    calibration: torch.Tensor  # training images for int8 calibration (may be the validation ones)


@dataclass(frozen=True)
class Measurement:
    agreement: float | None  # share of images whose top-1 class matches the fp32 model's
    accuracy: float | None  # the export's top-1 accuracy on the validation images
    reference_accuracy: float | None  # the fp32 PyTorch model's, on the same images
    max_abs_diff: float | None  # largest probability difference from the fp32 model
    latency_ms: float | None  # median per image, batch 1, one thread, after warm-up
    bytes: int  # size on disk (a folder's files added up)


def run_images(info: ModelInfo, recipe: Recipe | None, fallback: torch.Tensor) -> RunImages:
    """The run's validation images and training images; `fallback` when its folders are gone."""
    split = _split(recipe, info.classes) if recipe is not None else None
    if split is None or not split[1].samples:
        return RunImages(fallback, None, fallback)
    train, val = split
    val_tensors, labels = _load(val, info.image_size, MAX_VALIDATION_IMAGES)
    if not val_tensors:
        return RunImages(fallback, None, fallback)
    calibration, _ = _load(train, info.image_size, MAX_CALIBRATION_IMAGES)
    validation = torch.stack(val_tensors)
    return RunImages(validation, tuple(labels),
                     torch.stack(calibration) if calibration else validation)


def _split(recipe: Recipe, classes: Sequence[str]) -> tuple[DatasetScan, DatasetScan] | None:
    """(training images, validation images) as training split them, or None when gone."""
    try:
        if recipe.all_data or not recipe.data_dir or not os.path.isdir(recipe.data_dir):
            return None  # all_data: every image trained, none would measure anything
        scan = scan_folder(recipe.data_dir)
        if tuple(scan.classes) != tuple(classes):
            return None
        if recipe.val_dir and os.path.isdir(recipe.val_dir):
            return scan, scan_folder(recipe.val_dir, classes=classes)
        return stratified_split(scan, recipe.val_split, recipe.seed)
    except Exception:  # noqa: BLE001 - a changed folder only means measuring on the check batch
        return None


def _load(scan: DatasetScan, size: int, limit: int) -> tuple[list[torch.Tensor], list[int]]:
    """Up to `limit` images spread evenly over `scan` (every class kept in proportion)."""
    samples = scan.samples
    step = max(1, len(samples) // limit)
    transform = eval_transform(size)
    tensors, labels = [], []
    for path, label in samples[::step][:limit]:
        try:
            tensors.append(transform(load_rgb(path)))
        except UnreadableImage:
            continue
        labels.append(label)
    return tensors, labels


def compare(reference: ProbabilityModel, exported: Predictor, images: RunImages) -> Measurement:
    """Agreement, accuracy and probability difference of `exported` against `reference`."""
    with torch.inference_mode():
        expected = reference(images.validation).numpy()
    actual = np.asarray(exported.predict_tensor(images.validation))
    if actual.shape != expected.shape:
        return Measurement(0.0, None, None, float("inf"), None, 0)
    top = actual.argmax(axis=1)
    reference_top = expected.argmax(axis=1)
    accuracy = reference_accuracy = None
    if images.labels is not None:
        labels = np.asarray(images.labels)
        accuracy = float((top == labels).mean())
        reference_accuracy = float((reference_top == labels).mean())
    diff = float(np.max(np.abs(actual - expected)))
    return Measurement(float((top == reference_top).mean()), accuracy, reference_accuracy,
                       diff if diff == diff else float("inf"), None, 0)


def latency_ms(predictor: Predictor, image: torch.Tensor) -> float:
    """Median time of one single-image prediction, after warm-up, with torch on one thread."""
    batch = image.unsqueeze(0).numpy()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the torch formats; the others' runtimes were opened with one
    try:
        for _ in range(WARMUP_RUNS):
            predictor.predict_tensor(batch)
        times = []
        for _ in range(TIMED_RUNS):
            start = time.perf_counter()
            predictor.predict_tensor(batch)
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return statistics.median(times) * 1000.0


def size_on_disk(path: Path, siblings: Sequence[Path] = ()) -> int:
    """Bytes of the file (or folder, e.g. .mlpackage) and the files it needs beside it."""
    total = 0
    for p in (path, *siblings):
        if p.is_dir():
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        elif p.is_file():
            total += p.stat().st_size
    return total
