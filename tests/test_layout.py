"""A root holding train/ and val/ folders is recognised as a split, not as two classes."""

from __future__ import annotations

from pathlib import Path

from imagefolders import write_class_folders

from tlstudio.data import split_folders, write_digits_demo

CLASSES = {"red": 3, "green": 3}


def test_train_and_val_folders_are_a_split(tmp_path: Path) -> None:
    write_class_folders(tmp_path / "Training", CLASSES)
    write_class_folders(tmp_path / "valid", CLASSES)
    layout = split_folders(tmp_path)
    assert layout is not None
    assert layout.train_dir == str(tmp_path / "Training")
    assert layout.val_dir == str(tmp_path / "valid")
    assert layout.note == ("This folder holds Training/ and valid/: using Training/ for "
                           "training and valid/ for validation")


def test_the_demo_folder_is_a_split(tmp_path: Path) -> None:
    root = write_digits_demo(tmp_path / "demo", per_class=4, size=8)
    layout = split_folders(root)
    assert (layout.train_dir, layout.val_dir) == (str(root / "train"), str(root / "val"))


def test_only_train_holds_out_part_of_it(tmp_path: Path) -> None:
    write_class_folders(tmp_path / "train", CLASSES)
    layout = split_folders(tmp_path)
    assert layout.train_dir == str(tmp_path / "train") and layout.val_dir is None
    assert "holding out part of it for validation" in layout.note


def test_test_folder_is_ignored_with_a_note(tmp_path: Path) -> None:
    for split in ("train", "val", "test"):
        write_class_folders(tmp_path / split, CLASSES)
    layout = split_folders(tmp_path)
    assert layout.val_dir == str(tmp_path / "val")
    assert "test/ is not used" in layout.note


def test_classes_called_train_and_val_stay_classes(tmp_path: Path) -> None:
    # Images directly inside: these are class folders, even with a stray subfolder of images.
    write_class_folders(tmp_path, {"train": 3, "val": 3})
    write_class_folders(tmp_path / "train", {"more": 2})
    assert split_folders(tmp_path) is None


def test_plain_class_folders_and_empty_splits_are_not_a_split(tmp_path: Path) -> None:
    assert split_folders(write_class_folders(tmp_path / "plain", CLASSES)) is None
    (tmp_path / "empty" / "train" / "cats").mkdir(parents=True)
    (tmp_path / "empty" / "val" / "cats").mkdir(parents=True)
    assert split_folders(tmp_path / "empty") is None
    write_class_folders(tmp_path / "valonly" / "val", CLASSES)
    assert split_folders(tmp_path / "valonly") is None
    assert split_folders(tmp_path / "missing") is None


def test_a_split_folder_may_hold_a_text_file(tmp_path: Path) -> None:
    write_class_folders(tmp_path / "train", CLASSES)
    (tmp_path / "train" / "labels.csv").write_text("name,label\n")
    assert split_folders(tmp_path).train_dir == str(tmp_path / "train")


def test_held_out_note_names_the_fraction(tmp_path: Path) -> None:
    write_class_folders(tmp_path / "train", CLASSES)
    write_class_folders(tmp_path / "val", CLASSES)
    assert split_folders(tmp_path).held_out_note(0.25) == (
        "This folder holds train/: using train/ for training and holding out 25% of each "
        "class for validation (val/ is not used)")
