"""File > Resume run…: pick a run folder with a checkpoint, optionally a new total of epochs.

The run continues through the window's TrainingController with the engine's `resume`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from tlstudio.errors import TlstudioError
from tlstudio.recipe import Recipe
from tlstudio.training.checkpoint import CHECKPOINT, load_checkpoint
from tlstudio.training.engine import RECIPE


def finished_epochs(run_dir: str | Path) -> int:
    """Epochs the run's checkpoint holds (raises TlstudioError if it cannot be resumed).

    Memory-mapped, so a large model's checkpoint does not stall the window while it is read.
    """
    path = Path(run_dir) / CHECKPOINT
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["epoch"])
    except Exception:  # noqa: BLE001 - missing, corrupt or foreign: the core's message says which
        return int(load_checkpoint(path)["epoch"])


def resume_recipe(run_dir: str | Path, epochs: int | None = None) -> Recipe:
    """The run's own recipe, writing into the same folder, with `epochs` as the new total."""
    run_dir = Path(run_dir)
    if not (run_dir / RECIPE).is_file():
        raise TlstudioError(f"'{run_dir}' is not a tlstudio run: it has no {RECIPE}")
    if not (run_dir / CHECKPOINT).is_file():
        raise TlstudioError(f"'{run_dir}' cannot be resumed: it has no {CHECKPOINT} (a run "
                            "saves one after each finished epoch)")
    recipe = Recipe.load(run_dir / RECIPE).replace(out_dir=str(run_dir))
    return recipe.replace(epochs=epochs) if epochs is not None else recipe


def ask_resume(parent: QWidget, start_dir: str = "") -> tuple[str, int] | None:
    """Ask for a run folder and the total number of epochs; None if the user cancels.

    Raises TlstudioError for a folder that cannot be resumed.
    """
    run_dir = QFileDialog.getExistingDirectory(parent, "Resume run: choose its folder", start_dir)
    if not run_dir:
        return None
    recipe = resume_recipe(run_dir)
    done = finished_epochs(run_dir)
    default = recipe.epochs if done < recipe.epochs else done + 5
    epochs, ok = QInputDialog.getInt(
        parent, "Resume run",
        f"This run has finished {done} of {recipe.epochs} epoch(s).\nTrain until epoch:",
        default, done + 1, 100_000)
    return (run_dir, epochs) if ok else None
