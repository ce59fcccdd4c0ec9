"""Where runs go when the user names no folder: one answer for the window and the CLI."""

from __future__ import annotations

import os
from pathlib import Path


def default_runs_dir() -> Path:
    """``~/tlstudio/runs``: the window's "Save runs in" and the CLI's parent of ``runs/DATA``."""
    return Path.home() / "tlstudio" / "runs"


def default_run_dir(data_dir: str | os.PathLike[str]) -> Path:
    """The CLI's run folder for a training folder: named after it, under the default folder."""
    return default_runs_dir() / Path(os.path.abspath(data_dir)).name
