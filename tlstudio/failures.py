"""How a failure reads to the user: one function for the CLI and the window.

Core errors carry remedies as data (`tlstudio.errors.Remedy`); this module is the one place that
words each remedy, as a command-line flag for the CLI and as a control of the window. Errors
nobody planned for (a bug, an exhausted memory) get a plain sentence, never a traceback.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from tlstudio.errors import Remedy, TlstudioError


class FrontEnd(Enum):
    CLI = "cli"
    WINDOW = "window"


@dataclass(frozen=True)
class RemedyWords:
    cli: str  # the remedy as a command-line user does it (flags)
    window: str  # the remedy as a window user does it (menus, fields)


REMEDY_WORDS: dict[Remedy, RemedyWords] = {
    Remedy.CHOOSE_OUT: RemedyWords("choose another --out",
                                   "choose another folder in 'Save runs in'"),
    Remedy.CONTINUE_RUN: RemedyWords("continue it with: tlstudio train --resume {run}",
                                     "continue it with File > Resume run…"),
    Remedy.START_AGAIN: RemedyWords(
        "start it again in the same folder with: tlstudio train --recipe {recipe} --out {run} "
        "--overwrite",
        "start it again: File > Open recipe… with its recipe, then Train into the same folder"),
    Remedy.WAIT_OR_CHOOSE_OUT: RemedyWords(
        "wait for it to end or choose another --out",
        "wait for it to end or choose another folder in 'Save runs in'"),
    Remedy.OVERWRITE: RemedyWords("add --overwrite", "delete the old run's files first"),
    Remedy.RESUME: RemedyWords("continue it with --resume",
                               "continue it with File > Resume run…"),
    Remedy.BALANCE: RemedyWords(
        "consider --balance sampler or --balance loss",
        "consider a weighted sampler or a class-weighted loss (Advanced > Class balance)"),
    Remedy.GO_ONLINE: RemedyWords("connect to the internet once",
                                  "connect to the internet once"),
    Remedy.BUNDLED_BACKBONE: RemedyWords(
        "pick a bundled backbone (see `tlstudio backbones`)",
        "pick a backbone whose weights are bundled"),
    Remedy.GIVE_WEIGHTS_FILE: RemedyWords(
        "give a weights file with --weights",
        "choose a weights file with 'Weights file…' in step 2"),
    Remedy.SMALLER_BATCH: RemedyWords("try a smaller --batch-size or --image-size",
                                      "try a smaller batch size or image size"),
    Remedy.FIX_UNFREEZE: RemedyWords(
        "check the --unfreeze patterns against the model's parameter names",
        "check the unfreeze patterns against the model's parameter names"),
    Remedy.LABELLED_FOLDER: RemedyWords(
        "give a labelled folder to evaluate on with --data",
        "choose a labelled folder to evaluate on (Evaluate on: Another labelled folder…)"),
    Remedy.MORE_EPOCHS: RemedyWords(
        "to train more, resume it with a larger total (--resume RUN --epochs N)",
        "to train more, use File > Resume run… with a larger total of epochs"),
    Remedy.INSTALL_DEPLOY: RemedyWords(
        "install the export formats with: pip install 'tlstudio[deploy]'",
        "install the export formats with: pip install 'tlstudio[deploy]', then restart"),
    Remedy.OTHER_QUANTIZATION: RemedyWords(
        "leave out --quantize, or pick a format that offers it (see `tlstudio export --help`)",
        "pick one of the choices the export dialog lists"),
    Remedy.MOVE_COMPARISON: RemedyWords(
        "choose another --out, or remove it first (--overwrite replaces it)",
        "choose another output folder, or remove that comparison first"),
}


@dataclass(frozen=True)
class Failure:
    message: str  # what happened, in the user's words
    remedies: tuple[Remedy, ...] = ()  # what the user can do about it
    expected: bool = True  # False: a bug or a crash, not something the user did

    paths: Mapping[str, str] = field(default_factory=dict)  # what remedies name: run, recipe

    def text(self, front_end: FrontEnd) -> str:
        return with_remedies(self.message, self.remedies, front_end, self.paths)


def with_remedies(message: str, remedies: Iterable[Remedy], front_end: FrontEnd,
                  paths: Mapping[str, str] | None = None) -> str:
    """``message; remedy, remedy, or remedy`` with each remedy in ``front_end``'s words; the
    command-line words name ``paths`` (run, recipe) as the shell reads them back."""
    quoted = {name: shlex.quote(str(path)) for name, path in (paths or {}).items()}
    words = [getattr(REMEDY_WORDS[r], front_end.value).format(**quoted) for r in remedies]
    if not words:
        return message
    if len(words) == 1:
        return f"{message}; {words[0]}"
    joined = ", ".join(words[:-1]) + ("," if len(words) > 2 else "") + " or " + words[-1]
    return f"{message}; {joined}"


def is_out_of_memory(error: BaseException) -> bool:
    """Host or accelerator memory ran out (without importing torch: the CLI starts fast)."""
    torch = sys.modules.get("torch")
    oom = (getattr(torch, "OutOfMemoryError", MemoryError), MemoryError) if torch else MemoryError
    return isinstance(error, oom) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower())


def failure(error: BaseException, doing: str = "Unexpected error") -> Failure:
    """The `Failure` an exception stands for; ``doing`` heads an unexpected one."""
    if isinstance(error, TlstudioError):
        return Failure(str(error), error.remedies, paths=error.paths)
    if is_out_of_memory(error):
        return Failure("Out of memory", (Remedy.SMALLER_BATCH,))
    return Failure(f"{doing}: {type(error).__name__}: {error}", expected=False)


def describe_failure(error: BaseException, front_end: FrontEnd, doing: str = "Unexpected error",
                     details: str | os.PathLike[str] | None = None) -> str:
    """What ``front_end`` shows for ``error``: its message and remedies in that front-end's
    words; an unexpected error also says where its ``details`` (the traceback) are."""
    found = failure(error, doing)
    text = found.text(front_end)
    if not found.expected and details:
        text = f"{text} (details in {details})"
    return text


def save_details(error: BaseException) -> Path | None:
    """Write ``error``'s traceback to a new file in the temp folder; its path, or None."""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    try:
        fd, path = tempfile.mkstemp(prefix="tlstudio-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(lines))
    except OSError:
        return None
    return Path(path)
