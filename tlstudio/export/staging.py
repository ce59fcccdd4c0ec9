"""An export's files are written and checked in a hidden folder beside their destination, then
moved into place only when the check passed: a failed export leaves nothing and replaces nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tlstudio import atomic

PREFIX = ".tlstudio-export-"  # staging folders; an abandoned one is removed by the next export


@contextlib.contextmanager
def staged(dest: Path) -> Iterator[Path]:
    """A fresh folder beside `dest`; on success each entry in it replaces its namesake there."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(dest.parent)
        stage = Path(tempfile.mkdtemp(prefix=PREFIX, dir=dest.parent))
    except OSError as e:
        raise atomic.output_error(e, dest) from e
    try:
        yield stage
        for entry in sorted(stage.iterdir()):
            _place(entry, dest.parent / entry.name)
    except OSError as e:
        raise atomic.output_error(e, dest) from e
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _place(entry: Path, target: Path) -> None:
    """os.replace for a file (one step); a folder (.mlpackage) swaps with the old one."""
    if entry.is_dir():
        atomic.replace_folder(entry, target)
    else:
        os.replace(entry, target)


def _remove_abandoned(folder: Path) -> None:
    """Staging folders of exports killed before they finished: older than an hour (a live
    export finishes well within that)."""
    for stale in folder.glob(f"{PREFIX}*"):
        with contextlib.suppress(OSError):
            if stale.is_dir() and _age_s(stale) > 3600:
                shutil.rmtree(stale, ignore_errors=True)


def _age_s(path: Path) -> float:
    return time.time() - path.stat().st_mtime
