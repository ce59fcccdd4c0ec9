"""The runs a runs folder holds, newest first, as the window's runs list shows them.

Qt-free and small on purpose: when the core's `tlstudio runs` listing is on main, the window
swaps `list_runs_for_window` for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tlstudio.errors import TlstudioError
from tlstudio.runs import read_run_info


@dataclass(frozen=True)
class RunEntry:
    """One run folder as a line of the list."""

    path: str  # the run folder
    epochs: int  # epochs trained
    accuracy: float | None  # validation accuracy of the saved model's epoch, if any
    has_model: bool  # a model was saved (Export, Try images work)

    def text(self) -> str:
        name = Path(self.path).name
        if not self.epochs:
            return f"{name} · no finished epoch"
        accuracy = f" · {self.accuracy:.1%}" if self.accuracy is not None else ""
        return f"{name} · {self.epochs} epoch{'s' if self.epochs != 1 else ''}{accuracy}"


def run_entry(path: Path) -> RunEntry | None:
    try:
        info = read_run_info(path)
    except (TlstudioError, OSError, ValueError):
        return None  # a damaged folder is left out of the list, not a reason to fail it
    if not info.folder.looks_like_run():
        return None
    epochs = list(info.metrics.get("epochs", ()))
    saved = info.saved_epoch()
    accuracy = epochs[saved - 1].get("val_accuracy") if saved and saved <= len(epochs) else None
    return RunEntry(str(path), len(epochs), accuracy, info.has_model)


def list_runs_for_window(runs_dir: str | os.PathLike[str], limit: int = 30) -> list[RunEntry]:
    """The runs directly inside `runs_dir`, newest first (at most `limit`)."""
    root = Path(runs_dir).expanduser()
    if not root.is_dir():
        return []
    folders = sorted((p for p in root.iterdir() if p.is_dir()),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    entries = (run_entry(p) for p in folders)
    return [e for e in entries if e is not None][:limit]
