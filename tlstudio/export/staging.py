"""An export's files are written and checked in a hidden folder beside their destination, then
moved into place only when the check passed: a failed export leaves nothing and replaces nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tlstudio import atomic

PREFIX = ".tlstudio-export-"  # staging folders; an abandoned one is removed by the next export
LOCK = ".lock"  # held inside a staging folder while its export is alive


@contextlib.contextmanager
def staged(dest: Path) -> Iterator[Path]:
    """A fresh folder beside `dest`; on success each entry in it replaces its namesake there.
    On failure the folders made for `dest` (run/export/onnx-int8) are removed again."""
    made = _missing_folders(dest.parent)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(dest.parent)
        stage = Path(tempfile.mkdtemp(prefix=PREFIX, dir=dest.parent))
        lock = atomic.hold_lock(stage / LOCK)
    except OSError as e:
        _remove_empty(made)
        raise atomic.output_error(e, dest) from e
    placed = False
    try:
        yield stage
        for entry in sorted(stage.iterdir()):
            if entry.name != LOCK:
                _place(entry, dest.parent / entry.name)
        placed = True
    except OSError as e:
        raise atomic.output_error(e, dest) from e
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        os.close(lock)
        if not placed:
            _remove_empty(made)


def _missing_folders(folder: Path) -> list[Path]:
    """`folder` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Remove `folders` (deepest first) as long as they are empty: another export may have
    written into one meanwhile."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _place(entry: Path, target: Path) -> None:
    """os.replace for a file (one step); a folder (.mlpackage) swaps with the old one."""
    if entry.is_dir():
        atomic.replace_folder(entry, target)
    else:
        os.replace(entry, target)


def _remove_abandoned(folder: Path) -> None:
    """Staging folders of exports killed before they finished (nobody holds their lock); a
    live export's folder is left alone."""
    for stale in folder.glob(f"{PREFIX}*"):
        with contextlib.suppress(OSError):
            if stale.is_dir() and atomic.is_abandoned(stale / LOCK):
                shutil.rmtree(stale, ignore_errors=True)
