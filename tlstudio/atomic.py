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
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest`` in one step.

    A crash or exception leaves ``dest`` as it was (old content or absent), never half-written.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp_path, mode = _new_temp_file(dest)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        _set_mode(tmp_path, mode)  # a writer may have replaced the file with a private one
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _new_temp_file(dest: Path) -> tuple[Path, int]:
    """An empty hidden file beside ``dest`` and the permissions it was created with.

    Created like ``open()`` creates files, so the kernel applies the umask (and any default
    ACL); reading the umask itself would mean setting it, which is not thread-safe.
    """
    while True:
        tmp = dest.parent / f".{dest.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            return tmp, stat.S_IMODE(os.fstat(fd).st_mode)
        finally:
            os.close(fd)


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
    removed = [p for p in folder.iterdir() if p.is_file() and _TEMP_NAME.match(p.name)]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def write_bytes(dest: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_text(dest: str | os.PathLike[str], text: str) -> None:
    write_bytes(dest, text.encode("utf-8"))


def write_json(dest: str | os.PathLike[str], obj: Any) -> None:
    write_text(dest, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_with(dest: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Atomically write ``dest`` with a function that writes to a given path."""
    with atomic_path(dest) as tmp:
        writer(tmp)
