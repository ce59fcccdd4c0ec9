"""The Data step's overview (issue 12 item 11): per class how many images train and validate,
exactly as the split will make them, and a warning when images are much smaller than the size
the model is fed."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.imagefolders import write_class_folders
from tlstudio.data import (
    scan_folder,
    short_sides,
    small_images_warning,
    split_counts,
    stratified_split,
)


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5, 0.9])
def test_split_counts_are_the_split_training_makes(tmp_path: Path, fraction: float) -> None:
    scan = scan_folder(write_class_folders(tmp_path, {"a": 1, "b": 2, "c": 7, "d": 13}))
    train, val = stratified_split(scan, fraction, seed=3)
    assert split_counts(scan, fraction) == (train.counts(), val.counts())


def test_short_sides_read_the_shorter_side_of_each_image(tmp_path: Path) -> None:
    root = write_class_folders(tmp_path, {"a": 3, "b": 3}, size=16)
    Image.new("RGB", (120, 40)).save(root / "a" / "wide.png")
    sides = short_sides(scan_folder(root))
    assert sorted(sides) == [16] * 6 + [40]
    assert len(short_sides(scan_folder(root), limit=3)) == 3


def test_small_images_are_warned_about_in_plain_words() -> None:
    warning = small_images_warning([28, 28, 32, 300], 224)
    assert warning is not None
    assert "30 px" in warning and "224 px" in warning and "smaller image size" in warning
    assert "e.g. 32 px" in warning
    assert small_images_warning([150, 200, 260], 224) is None  # median 200 of 224: fine
    assert small_images_warning([], 224) is None  # nothing measured, nothing said
