"""Atomic file writes: a temp file in the destination folder, fsync, then rename.

Files get the permissions a plain ``open()`` gives (0o666 less the umask), not mkstemp's
private 0o600, so a colleague on a shared drive can open a run's files and reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tlstudio import writable

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

_STALE_WITHOUT_LOCKS_S = 24 * 3600


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest`` in one step.

    A crash or exception leaves ``dest`` as it was (old content or absent), never half-written;
    the temp files of earlier writers of ``dest`` that were killed are removed first. A failed
    write (disk full, read-only, no permission) raises OutputError saying so.
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temp_files(dest)
        tmp_path, mode, lock = _new_temp_file(dest)
    except OSError as e:
        raise _translated(e, dest) from e
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        _set_mode(tmp_path, mode)  # a writer may have replaced the file with a private one
        os.replace(tmp_path, dest)
    except OSError as e:
        raise _translated(e, dest) from e
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink(missing_ok=True)
        os.close(lock)


def replace_folder(new: Path, dest: Path) -> None:
    """Rename the folder `new` to `dest`; a folder already there is moved aside first and then
    removed, so `dest` is never half old and half new."""
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dest, old)
        os.replace(new, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, dest)


def hold_lock(path: Path) -> int:
    """Create `path` and lock it until the returned descriptor is closed (or the process dies),
    so that `is_abandoned(path)` tells a live writer's work from a killed one's."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    _lock(fd, blocking=True)
    return fd


def is_abandoned(path: str | os.PathLike[str]) -> bool:
    """No live process holds the lock on `path` (see `hold_lock`)."""
    return _is_abandoned(Path(path))


def output_error(error: OSError, dest: str | os.PathLike[str]) -> Exception:
    """A failed write of `dest` as the user's OutputError (disk full, read-only, ...)."""
    return _translated(error, Path(dest))


def _translated(error: OSError, dest: Path) -> Exception:
    """A failed write as the user's OutputError; any other OSError as it was."""
    return writable.write_failed(error, dest) if writable.is_write_failure(error) else error


def _new_temp_file(dest: Path) -> tuple[Path, int, int]:
    """An empty hidden file beside ``dest``, the permissions it was created with, and an open
    descriptor holding a lock on it for as long as it is written (see ``_is_abandoned``).

    Created like ``open()`` creates files, so the kernel applies the umask (and any default
    ACL); reading the umask itself would mean setting it, which is not thread-safe.
    """
    while True:
        tmp = dest.parent / f".{dest.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        _lock(fd, blocking=True)
        return tmp, stat.S_IMODE(os.fstat(fd).st_mode), fd


def _remove_stale_temp_files(dest: Path) -> None:
    """Delete the temp files of ``dest`` whose writers died (killed mid-write, a crash)."""
    prefix = f".{dest.name}."
    for path in dest.parent.iterdir():
        if path.name.startswith(prefix) and _TEMP_NAME.match(path.name) and _is_abandoned(path):
            path.unlink(missing_ok=True)


def _is_abandoned(path: Path) -> bool:
    """No live writer: a writer locks its temp file until it is done, and the kernel drops
    the lock of a killed process. Where locks are not available (Windows), a day-old file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        if fcntl is None:
            return time.time() - os.fstat(fd).st_mtime > _STALE_WITHOUT_LOCKS_S
        return _lock(fd, blocking=False)
    finally:
        os.close(fd)


def _lock(fd: int, blocking: bool) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def _set_mode(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) == mode:
        return
    with contextlib.suppress(OSError):  # filesystems without Unix permissions (FAT, some SMB)
        os.chmod(path, mode)


# A temp file of atomic_path: ".<name>.<12 hex digits>.tmp"
_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")


def remove_leftovers(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temp files that a killed process left in ``folder`` mid-write; only call it
    when no other writer uses the folder. Returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = [p for p in folder.iterdir()
               if p.is_file() and _TEMP_NAME.match(p.name) and _is_abandoned(p)]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def write_bytes(dest: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def link(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> bool:
    """Make ``dest`` another name of the file ``src`` in one step (no bytes written); False
    where that cannot be done (no hard links on the file system, another device), so that the
    caller writes ``dest`` itself. Only for files that are replaced, never changed in place."""
    dest = Path(dest)
    tmp = dest.parent / f".{dest.name}.{secrets.token_hex(6)}.tmp"
    try:
        os.link(src, tmp)
        os.replace(tmp, dest)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return False
    return True


def write_text(dest: str | os.PathLike[str], text: str) -> None:
    write_bytes(dest, text.encode("utf-8"))


def write_json(dest: str | os.PathLike[str], obj: Any) -> None:
    write_text(dest, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_with(dest: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Atomically write ``dest`` with a function that writes to a given path."""
    with atomic_path(dest) as tmp:
        writer(tmp)
