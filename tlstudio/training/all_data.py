"""Training on every image (the recipe's all_data): the training and validation folders as one
training set, an empty validation set, and what a run without validation records instead."""

from __future__ import annotations

from dataclasses import replace

from tlstudio.data import DatasetScan

NO_VALIDATION = "trained on all images: no validation accuracy"


def every_image(train: DatasetScan, val: DatasetScan | None) -> tuple[DatasetScan, DatasetScan]:
    """(all the images as the training scan, an empty validation scan with the same classes)."""
    if val is not None:
        samples = tuple(sorted(train.samples + val.samples))
        train = replace(train, samples=samples, skipped=train.skipped + val.skipped)
    return train, DatasetScan(train.root, train.classes, ())
