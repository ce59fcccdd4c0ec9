"""Recognise a data set root that holds train/ and val/ (and test/) folders of class folders.

Scanning such a root as class folders would train two classes, "train" and "val"; `fit`, the
window and the CLI ask `resolve_data_folders` first and use the folders it names instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

# Folder names (compared lowercased) for each part of a split, in order of preference.
TRAIN_NAMES = ("train", "training")
VAL_NAMES = ("val", "valid", "validation")
TEST_NAMES = ("test", "testing")


@dataclass(frozen=True)
class SplitLayout:
    """Where the training and validation images of a split data set root are."""

    root: str  # absolute path of the folder the user chose
    train_dir: str  # absolute path of its train/ (class subfolders inside)
    val_dir: str | None  # absolute path of its val/, None when there is none
    note: str  # what was found and what is used, in plain words

    def held_out_note(self, fraction: float) -> str:
        """The note for a user who asked to hold out part of train/ for validation."""
        train = Path(self.train_dir).name
        unused = f" ({Path(self.val_dir).name}/ is not used)" if self.val_dir else ""
        return (f"This folder holds {train}/: using {train}/ for training and holding out "
                f"{fraction:.0%} of each class for validation{unused}")


def split_folders(folder: str | os.PathLike[str]) -> SplitLayout | None:
    """The train/val layout of `folder`, or None when its subfolders are classes.

    A split folder holds class subfolders (at least one with a file in it) and no images of
    its own; a class folder that happens to be called "train" holds images, so it stays a class.
    """
    root = Path(os.path.abspath(folder))
    try:
        subfolders = {d.name.lower(): d for d in sorted(root.iterdir())
                      if d.is_dir() and not d.name.startswith(".")}
    except OSError:
        return None
    train = _first_split(subfolders, TRAIN_NAMES)
    if train is None:
        return None
    val = _first_split(subfolders, VAL_NAMES)
    test = _first_split(subfolders, TEST_NAMES)
    return SplitLayout(str(root), str(train), str(val) if val else None,
                       _note(train, val, test))


@dataclass(frozen=True)
class DataFolders:
    """The folders a run trains and validates on, after the layout was recognised."""

    train_dir: str  # class subfolders inside
    val_dir: str | None  # class subfolders inside; None: hold out part of train_dir
    note: str | None  # what was found and what is used, when the layout changed anything


def resolve_data_folders(data_dir: str | os.PathLike[str], val_dir: str | None = None,
                         hold_out: float | None = None) -> DataFolders:
    """The folders to use for `data_dir` (and `val_dir`): a root holding train/ and val/ gives
    those two; with `hold_out` (a fraction asked for explicitly) only its train/ is used.
    A given `val_dir`, or a `data_dir` whose subfolders are classes, is used as is."""
    layout = None if val_dir else split_folders(data_dir)
    if layout is None:
        return DataFolders(str(data_dir), val_dir, None)
    if hold_out is not None:
        return DataFolders(layout.train_dir, None, layout.held_out_note(hold_out))
    return DataFolders(layout.train_dir, layout.val_dir, layout.note)


def _first_split(subfolders: dict[str, Path], names: tuple[str, ...]) -> Path | None:
    for name in names:
        if name in subfolders and _holds_class_folders(subfolders[name]):
            return subfolders[name]
    return None


def _holds_class_folders(folder: Path) -> bool:
    try:
        entries = sorted(e for e in folder.iterdir() if not e.name.startswith("."))
    except OSError:
        return False
    if any(e.is_file() and _is_image(e) for e in entries):
        return False
    return any(e.is_dir() and _has_a_file(e) for e in entries)


def _has_a_file(folder: Path) -> bool:
    for _dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if any(not name.startswith(".") for name in filenames):
            return True
    return False


def _is_image(path: Path) -> bool:
    # By content, as scanning does: only the header is read.
    try:
        with Image.open(path):
            return True
    except Exception:  # noqa: BLE001 - anything PIL cannot open is not an image here
        return False


def _note(train: Path, val: Path | None, test: Path | None) -> str:
    t = f"{train.name}/"
    if val is not None:
        v = f"{val.name}/"
        note = f"This folder holds {t} and {v}: using {t} for training and {v} for validation"
    else:
        note = (f"This folder holds {t} (no validation folder): using {t} for training and "
                f"holding out part of it for validation")
    if test is not None:
        note += f"; {test.name}/ is not used (keep it for a final check)"
    return note
