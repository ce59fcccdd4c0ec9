"""Claiming a run folder: one training process at a time, never one that holds another run.

A claim is an exclusive lock on the folder's marker file (`.tlstudio-claim`, holding the pid),
kept by the training process until the run ends. The operating system drops the lock when the
process dies however it dies, so a claim left by a killed run is taken over, and two processes
started together can never both hold one (no pid is trusted: pids are reused).

A folder holding a run is refused unless it is overwritten (its old run's files go first, so a
folder never mixes two runs) or resumed; `claim_free_run_folder` numbers a sibling instead.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tlstudio.errors import RecipeError, Remedy, RunFolderBusyError
from tlstudio.runs.folder import CLEARED_TOO, HEADLINE, OTHER_OUTPUTS, RunFolder
from tlstudio.runs.unfinished import unresumable_run
from tlstudio.writable import check_writable

# errno values that mean "another process holds the lock"; any other failure means the file
# system cannot lock (some network shares): the run goes ahead as before claims existed.
_HELD = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK}

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock_fd(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
else:
    import fcntl

    def _lock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _try_lock(fd: int) -> bool:
    try:
        _lock_fd(fd)
    except OSError as e:
        return e.errno not in _HELD
    return True


@dataclass
class RunClaim:
    """This process's hold on a run folder; `release` (or leaving a `with`) lets it go."""

    folder: RunFolder
    _fd: int | None = field(default=None, repr=False)
    _made_folder: bool = field(default=False, repr=False)  # removed again if left empty

    @property
    def path(self) -> Path:
        return self.folder.path

    def release(self) -> None:
        if self._fd is None:
            return
        if os.name == "nt":  # pragma: no cover - Windows cannot remove an open file
            os.close(self._fd)
            _remove(self.folder.claim_marker)  # fails harmlessly if a new claimant has it
        else:  # unlinked while still locked: a waiting claimant re-checks the path (_lock)
            _remove(self.folder.claim_marker)
            os.close(self._fd)
        self._fd = None
        if self._made_folder:
            with contextlib.suppress(OSError):  # not empty: the run wrote something
                self.folder.path.rmdir()

    def __enter__(self) -> RunClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def claim_run_folder(run_dir: str | os.PathLike[str], overwrite: bool = False,
                     resume: bool = False) -> RunClaim:
    """Hold `run_dir` for a new run (or, with `resume`, for continuing the run in it).

    Raises RunFolderBusyError while another process trains into it, and RecipeError when it holds
    a run and neither `overwrite` (which clears the old run's files) nor `resume` is given.
    Files that are not a run's (the user's own) are left alone.
    """
    check_writable(run_dir, folder=True)  # before minutes of training it could not save
    claim = _lock(RunFolder.at(run_dir))
    if claim is None:
        raise RunFolderBusyError(f"'{run_dir}' is in use: another training{_holder(run_dir)} is "
                            "writing into it", remedies=(Remedy.WAIT_OR_CHOOSE_OUT,))
    try:
        if not resume:
            _make_room(claim.folder, overwrite)
    except BaseException:
        claim.release()
        raise
    return claim


def claim_free_run_folder(out_dir: str | os.PathLike[str]) -> RunClaim:
    """Hold `out_dir` if it is free and holds no run, else the first free one of `out_dir-2`,
    `-3`, ...: where a run writes when the user named no folder (never replacing one)."""
    out_dir = Path(out_dir)
    check_writable(out_dir, folder=True)  # before minutes of training it could not save
    if out_dir.name in ("", ".", ".."):  # no name to number
        out_dir = out_dir.resolve()
    candidate, n = out_dir, 1
    while True:
        if not RunFolder(candidate).run_files():
            claim = _lock(RunFolder(candidate))
            if claim is not None:
                if not claim.folder.run_files():  # none appeared before the lock was ours
                    return claim
                claim.release()
        n += 1
        candidate = out_dir.with_name(f"{out_dir.name}-{n}")


def _make_room(folder: RunFolder, overwrite: bool) -> None:
    present = folder.run_files()
    if not present:
        return
    if not overwrite:
        shown = [name for name in present if name in HEADLINE] or list(present)
        if folder.compare.is_file():  # a comparison, not a run: resuming means nothing to it
            raise RecipeError(f"'{folder.path}' already holds a strategy comparison "
                              f"({', '.join(shown)}), left as it is",
                              remedies=(Remedy.MOVE_COMPARISON,))
        if not folder.checkpoint.is_file():
            raise unresumable_run(folder.path, shown)
        raise RecipeError(f"'{folder.path}' already holds a run ({', '.join(shown)})",
                          remedies=(Remedy.CHOOSE_OUT, Remedy.OVERWRITE, Remedy.RESUME))
    for name in (*HEADLINE, *OTHER_OUTPUTS, *CLEARED_TOO):
        path = folder.path / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def is_claimed(run_dir: str | os.PathLike[str]) -> bool:
    """A process holds `run_dir` now (a run is training into it). Only looks: a free marker
    is locked for an instant, then left as it was."""
    try:
        fd = os.open(RunFolder.at(run_dir).claim_marker, os.O_RDWR)
    except OSError:  # no marker (never claimed, or released), or unreadable
        return False
    try:
        # A lock is per open file, so this process's own claim reads as held, as another's.
        return not _try_lock(fd)
    finally:
        os.close(fd)  # drops the instant's lock with the file


def _lock(folder: RunFolder) -> RunClaim | None:
    """Lock the folder's marker, or None while another process holds it."""
    made = not folder.path.is_dir()
    folder.path.mkdir(parents=True, exist_ok=True)
    marker = folder.claim_marker
    while True:
        fd = os.open(marker, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            return None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(marker))
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return RunClaim(folder, fd, made)
        os.close(fd)  # the holder released (and unlinked) it meanwhile: lock the new one


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):  # a marker left behind is only a stale claim
        path.unlink(missing_ok=True)


def _holder(run_dir: str | os.PathLike[str]) -> str:
    try:
        pid = int(RunFolder.at(run_dir).claim_marker.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return ""
    return f" (process {pid})"
