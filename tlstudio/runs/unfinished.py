"""What a run that did not finish allows: resume it (it has a checkpoint), or start it again in
the same folder (stopped before its first epoch finished), and where its model is.

Facts and remedies only; each front-end words them (`tlstudio.failures`): the CLI prints the
command to run after Ctrl+C, and refusals of such a folder (resume, a new run there) say it too.
"""

from __future__ import annotations

import os
from pathlib import Path

from tlstudio.errors import ModelFileError, RecipeError, Remedy, TlstudioError
from tlstudio.runs.folder import RunFolder

PathLike = str | os.PathLike[str]


def can_resume(run_dir: PathLike) -> bool:
    return RunFolder.at(run_dir).checkpoint.is_file()


def interrupted(run_dir: PathLike) -> TlstudioError:
    """After an interruption (Ctrl+C): where the run stands and how to continue it."""
    folder = RunFolder.at(run_dir)
    if can_resume(run_dir):
        return TlstudioError(f"'{folder.path}' was stopped" + model_note(run_dir),
                             remedies=(Remedy.CONTINUE_RUN,), paths=_paths(folder))
    return cannot_resume(run_dir)


def cannot_resume(run_dir: PathLike) -> TlstudioError:
    """Why a run without a checkpoint cannot be resumed, and what works instead."""
    folder = RunFolder.at(run_dir)
    return TlstudioError(
        f"'{folder.path}' stopped before its first epoch finished, so it has no "
        f"{folder.checkpoint.name} and cannot be resumed" + model_note(run_dir),
        remedies=_start_again(folder), paths=_paths(folder))


def unresumable_run(run_dir: PathLike, present: list[str]) -> RecipeError:
    """A new run's refusal of a folder holding a run that cannot be resumed."""
    folder = RunFolder.at(run_dir)
    return RecipeError(
        f"'{folder.path}' holds a run ({', '.join(present)}) that stopped before its first "
        "epoch finished, so it cannot be resumed" + model_note(run_dir),
        remedies=(Remedy.OVERWRITE, Remedy.CHOOSE_OUT))


def no_model_yet(run_dir: PathLike) -> ModelFileError:
    """A run killed mid-run (it has a checkpoint) has not saved its model yet."""
    folder = RunFolder.at(run_dir)
    return ModelFileError(f"'{folder.path}' was stopped mid-run and has not saved its model "
                          "yet" + model_note(run_dir),
                          remedies=(Remedy.CONTINUE_RUN,), paths=_paths(folder))


def model_note(run_dir: PathLike) -> str:
    """`` (its model is PATH)``, `` (its best model so far is PATH)`` or nothing."""
    folder = RunFolder.at(run_dir)
    for path, what in ((folder.model_weights, "its model"),
                       (folder.best_weights, "its best model so far")):
        if path.is_file():
            return f" ({what} is {path})"
    return ""


def _start_again(folder: RunFolder) -> tuple[Remedy, ...]:
    return (Remedy.START_AGAIN,) if folder.recipe.is_file() else (Remedy.OVERWRITE,)


def _paths(folder: RunFolder) -> dict[str, str]:
    return {"run": str(folder.path), "recipe": str(Path(folder.recipe))}
