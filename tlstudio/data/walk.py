"""Find the files under a folder, and say why each entry passed over is not used.

The rule, the same for training scans and `predict`: hidden files and folders (a name that
starts with ".", such as .DS_Store, .git or ._photo.jpg) are left out without a word. Every
other entry that is not used is listed with a reason: broken links, link loops, links to
folders (not followed, so no image is found twice and no loop can trap the scan), pipes,
sockets and devices, and entries that cannot be read.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

IS_A_FOLDER = "is a folder, not a file"


@dataclass(frozen=True)
class SkippedFile:
    path: str  # absolute path of the file that was not used
    reason: str  # short human reason, e.g. "not an image"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def find_files(folder: str) -> tuple[list[str], list[SkippedFile]]:
    """The regular files under `folder` (links to files followed), sorted by folder then
    name, and every other entry that is not hidden, with why it is not used."""
    files: list[str] = []
    skipped: list[SkippedFile] = []
    for found in _walk(folder):
        if isinstance(found, SkippedFile):
            skipped.append(found)
        else:
            files.append(found)
    return files, skipped


def _walk(folder: str) -> Iterator[str | SkippedFile]:
    unlisted: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(folder, onerror=unlisted.append):
        yield from _unlisted_folders(unlisted)
        # Pruning in place stops os.walk from descending into hidden folders (.git, .thumbs).
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(d))
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                yield SkippedFile(path, "link to a folder (not followed: move or copy the "
                                        "images here)")
        for name in sorted(filenames):
            if not is_hidden(name):
                path = os.path.join(dirpath, name)
                reason = not_a_file_reason(path)
                yield path if reason is None else SkippedFile(path, reason)
    yield from _unlisted_folders(unlisted)


def _unlisted_folders(errors: list[OSError]) -> Iterator[SkippedFile]:
    """Folders os.walk could not list (permission denied, removed meanwhile)."""
    while errors:
        error = errors.pop(0)
        path = os.fsdecode(error.filename) if error.filename is not None else "?"
        yield SkippedFile(path, f"folder cannot be listed ({_stat_failure(path, error)})")


def not_a_file_reason(path: str) -> str | None:
    """Why `path` cannot be read as a file (None for a regular file or a link to one).

    Never opens it: opening a pipe or a device could block forever.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        return _stat_failure(path, e)
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return IS_A_FOLDER
    return "not a regular file (a pipe, socket or device)"


def _stat_failure(path: str, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "link loop (the link leads back to itself)"
    if error.errno == errno.ENOENT and os.path.islink(path):
        return f"broken link (its target '{os.readlink(path)}' does not exist)"
    if error.errno == errno.ENOENT:
        return "file not found"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot be read ({error.strerror or error})"
