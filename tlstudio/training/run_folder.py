"""Which folder a new run may write to: never one that already holds a run, unless asked.

A run folder's files belong to one run; overwriting clears the old run's files first so that a
folder never mixes two runs (an old export or best model beside a new metrics.json).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tlstudio.errors import RecipeError
from tlstudio.training.artifacts import MODEL_INFO, MODEL_WEIGHTS
from tlstudio.training.callbacks import BEST_WEIGHTS
from tlstudio.training.checkpoint import CHECKPOINT
from tlstudio.training.predictions import PREDICTIONS
from tlstudio.training.tensorboard_log import TENSORBOARD_DIR

# The names users recognise first; the refusal lists those present.
_HEADLINE = ("metrics.json", MODEL_WEIGHTS, CHECKPOINT)
# Written by training (the engine's METRICS and RECIPE), by export and by the window's report.
_OTHER_OUTPUTS = (MODEL_INFO, BEST_WEIGHTS, PREDICTIONS, "export", TENSORBOARD_DIR)
_CLEARED_TOO = ("recipe.json", "report.html")  # rewritten or stale, but no sign of a run alone


def run_files(run_dir: str | Path) -> tuple[str, ...]:
    """The names of a finished or interrupted run's files present in ``run_dir``."""
    run_dir = Path(run_dir)
    return tuple(name for name in (*_HEADLINE, *_OTHER_OUTPUTS) if (run_dir / name).exists())


def claim_run_folder(run_dir: str | Path, overwrite: bool = False) -> None:
    """Make ``run_dir`` ready for a new run: refuse one holding a run, or clear it if
    ``overwrite``. Files that are not a run's (the user's own) are left alone."""
    present = run_files(run_dir)
    if not present:
        return
    if not overwrite:
        shown = [name for name in present if name in _HEADLINE] or list(present)
        raise RecipeError(f"'{run_dir}' already holds a run ({', '.join(shown)}); choose another "
                          "--out, add --overwrite, or continue it with --resume")
    for name in (*_HEADLINE, *_OTHER_OUTPUTS, *_CLEARED_TOO):
        path = Path(run_dir) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def free_run_folder(out_dir: str | Path) -> Path:
    """``out_dir`` if it holds no run, else the first of ``out_dir-2``, ``-3``, ... that does
    not exist: where a replayed recipe writes without replacing the run it came from."""
    out_dir = Path(out_dir)
    if not run_files(out_dir):
        return out_dir
    if out_dir.name in ("", ".."):  # "." or ".." has no name to number
        out_dir = out_dir.resolve()
    n = 2
    while (candidate := out_dir.with_name(f"{out_dir.name}-{n}")).exists():
        n += 1
    return candidate
