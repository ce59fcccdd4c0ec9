"""Whether a file or folder can be written where the user asked, and what to say when a write
fails (disk full, read-only, no permission, a file in the way): one message for CLI and window.

Commands call ``check_writable`` before minutes of work they could not save; ``atomic`` turns
a failed write into the same ``OutputError`` message.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from tlstudio.errors import OutputError

# The errors a write can meet that the user can do something about.
_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space or choose another location",
    errno.EDQUOT: "the disk quota is used up: free some space or choose another location",
    errno.EFBIG: "the file is too large for that disk: choose another location",
    errno.EROFS: "that disk is read-only: choose another location",
    errno.EACCES: "permission denied: choose a folder you can write to",
    errno.EPERM: "permission denied: choose a folder you can write to",
    errno.ENOTDIR: "part of the path is a file, not a folder: choose another location",
    errno.EISDIR: "that is a folder: give a file name",
    errno.EEXIST: "part of the path is a file, not a folder: choose another location",
}


def is_write_failure(error: BaseException) -> bool:
    """True for an OSError that `describe_write_failure` explains."""
    return isinstance(error, OSError) and error.errno in _ADVICE


def describe_write_failure(error: OSError, path: str | os.PathLike[str]) -> str:
    """``Cannot write '<path>': <what happened and what to do>``."""
    advice = _ADVICE.get(error.errno or 0) or f"{error.strerror or error}: choose another location"
    return f"Cannot write '{path}': {advice}"


def describe_os_error(error: OSError) -> str:
    """Any OSError in the user's words: a write failure explained, others as Python says."""
    where = error.filename if error.filename is not None else "a file"
    return describe_write_failure(error, where) if is_write_failure(error) else str(error)


def write_failed(error: OSError, path: str | os.PathLike[str]) -> OutputError:
    """The OutputError to raise (``from error``) for a failed write of ``path``."""
    return OutputError(describe_write_failure(error, path))


def check_writable(path: str | os.PathLike[str], folder: bool = False) -> Path:
    """Raise OutputError unless ``path`` (a file, or a folder if ``folder``) can be written:
    nothing in the way, a parent that is a folder, permission, a writable disk with free space.

    Creates nothing but a probe file that it removes at once; returns ``path``.
    """
    path = Path(path)
    if path.exists() and path.is_dir() != folder:
        kind = "a file, not a folder" if folder else "a folder: give a file name"
        raise OutputError(f"Cannot write '{path}': it is {kind}")
    nearest = _nearest_existing(path if folder else path.parent)
    if not nearest.is_dir():
        raise OutputError(f"Cannot write '{path}': '{nearest}' is a file, not a folder; "
                          "choose another location")
    _probe(nearest, path)
    return path


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe(folder: Path, target: Path) -> None:
    """Create and remove a file in ``folder``: the only test that root, ACLs and read-only
    mounts all answer truthfully. A disk with no free block at all counts as full."""
    try:
        _create_and_remove(folder / f".tlstudio-write-test-{secrets.token_hex(6)}")
        if _free_bytes(folder) == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    except OSError as e:
        raise write_failed(e, target) from e


def _create_and_remove(probe: Path) -> None:
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    os.unlink(probe)


def _free_bytes(folder: Path) -> int | None:
    try:
        stats = os.statvfs(folder)
    except (AttributeError, OSError):  # no statvfs on Windows
        return None
    return stats.f_bavail * stats.f_frsize
