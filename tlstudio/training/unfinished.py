"""What a run that did not finish allows, in the user's words: resume it (it has a checkpoint),
or start it again in the same folder (stopped before its first epoch), and where its model is.

The CLI says it after Ctrl+C; refusals of such a folder (resume, a new run there) say it too.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from tlstudio.training.artifacts import MODEL_WEIGHTS
from tlstudio.training.callbacks import BEST_WEIGHTS
from tlstudio.training.checkpoint import CHECKPOINT

RECIPE = "recipe.json"  # the engine's name for it


def can_resume(run_dir: str | Path) -> bool:
    return (Path(run_dir) / CHECKPOINT).is_file()


def how_to_continue(run_dir: str | Path) -> str:
    """After an interruption: the command that continues the run, or how to start it again."""
    if can_resume(run_dir):
        return f"continue it with: tlstudio train --resume {_arg(run_dir)}" + _model_note(run_dir)
    return cannot_resume(run_dir)


def cannot_resume(run_dir: str | Path) -> str:
    """Why a run without a checkpoint cannot be resumed, and what works instead."""
    return (f"'{run_dir}' stopped before its first epoch finished, so it has no {CHECKPOINT} "
            f"and cannot be resumed; {_start_again(run_dir)}" + _model_note(run_dir))


def refuse_unresumable(run_dir: str | Path, present: list[str]) -> str:
    """A new run's refusal of a folder holding a run that cannot be resumed."""
    return (f"'{run_dir}' holds a run ({', '.join(present)}) that stopped before its first "
            f"epoch finished, so it cannot be resumed; add --overwrite to start again in the "
            f"same folder, or choose another --out" + _model_note(run_dir))


def _start_again(run_dir: str | Path) -> str:
    recipe = Path(run_dir) / RECIPE
    if recipe.is_file():
        return (f"start it again in the same folder with: tlstudio train --recipe "
                f"{_arg(recipe)} --out {_arg(run_dir)} --overwrite")
    return f"start it again with the same command and --out {_arg(run_dir)} --overwrite"


def _arg(path: str | Path) -> str:
    """A path as the shell reads it back (spaces and quotes in folder names survive a paste)."""
    return shlex.quote(str(path))


def _model_note(run_dir: str | Path) -> str:
    for name, what in ((MODEL_WEIGHTS, "its model"), (BEST_WEIGHTS, "its best model so far")):
        if (Path(run_dir) / name).is_file():
            return f" ({what} is {Path(run_dir) / name})"
    return ""
