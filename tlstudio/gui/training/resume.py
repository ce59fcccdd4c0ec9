"""File > Resume run…: pick a run folder with a checkpoint, optionally a new total of epochs.

The checks and the resumed recipe are the engine's (``resume_recipe``, as the CLI's); the run
continues through the window's TrainingController with the engine's `resume`.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QInputDialog, QWidget

from tlstudio.training import resumable_run, resume_recipe

__all__ = ["ask_resume", "resume_recipe"]


def ask_resume(parent: QWidget, start_dir: str = "") -> tuple[str, int] | None:
    """Ask for a run folder and the total number of epochs; None if the user cancels.

    Raises TlstudioError for a folder that cannot be resumed.
    """
    run_dir = QFileDialog.getExistingDirectory(parent, "Resume run: choose its folder", start_dir)
    if not run_dir:
        return None
    recipe, done = resumable_run(run_dir)
    default = recipe.epochs if done < recipe.epochs else done + 5
    epochs, ok = QInputDialog.getInt(
        parent, "Resume run",
        f"This run has finished {done} of {recipe.epochs} epoch(s).\nTrain until epoch:",
        default, done + 1, 100_000)
    return (run_dir, epochs) if ok else None
