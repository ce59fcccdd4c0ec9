"""Fix a dataset on disk: move an image to another class folder (a wrong label) or to a
quarantine folder outside the dataset (a bad image). Nothing is deleted or overwritten;
every move is appended to a log beside the dataset and can be undone.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tlstudio.errors import RelabelError

RELABEL, QUARANTINE, UNDO = "relabel", "quarantine", "undo"
# Errors from os.link that mean "no hard links here", not "not allowed": copy instead.
_NO_HARD_LINKS = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}


@dataclass(frozen=True)
class Move:
    id: int  # 1, 2, ... in the order of the log
    time: str  # ISO 8601, UTC
    src: str  # absolute path the file was moved from
    dst: str  # absolute path it was moved to
    kind: str  # "relabel", "quarantine" or "undo"
    undoes: int | None = None  # for an undo: the id of the move it reverted

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DatasetEditor:
    """Moves images of the dataset at `root` (one subfolder per class), with a log."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        quarantine_dir: str | os.PathLike[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.root = Path(os.path.abspath(root))
        if not self.root.is_dir():
            raise RelabelError(f"The dataset folder '{self.root}' does not exist")
        beside = self.root.parent
        self.quarantine_dir = Path(
            os.path.abspath(quarantine_dir or beside / f"{self.root.name}.quarantine")
        )
        if self.quarantine_dir == self.root or self.quarantine_dir.is_relative_to(self.root):
            raise RelabelError("The quarantine folder must be outside the dataset folder")
        self.log_path = Path(log_path or beside / f"{self.root.name}.tlstudio-moves.jsonl")

    def classes(self) -> list[str]:
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def relabel(self, path: str | os.PathLike[str], new_class: str) -> Move:
        """Move an image into the folder of `new_class` (which must exist)."""
        src = self._dataset_file(path)
        if new_class not in self.classes():
            raise RelabelError(
                f"There is no class folder '{new_class}' in '{self.root}'; "
                f"classes are: {', '.join(self.classes())}"
            )
        if src.relative_to(self.root).parts[0] == new_class:
            raise RelabelError(f"'{src.name}' is already in class '{new_class}'")
        return self._move(src, self.root / new_class / src.name, RELABEL)

    def quarantine(self, path: str | os.PathLike[str]) -> Move:
        """Move an image out of the dataset, keeping its class subfolder in the quarantine."""
        src = self._dataset_file(path)
        return self._move(src, self.quarantine_dir / src.relative_to(self.root), QUARANTINE)

    def history(self) -> list[Move]:
        """Every move in the log, oldest first; a line cut short by a crash is ignored."""
        try:
            lines = self.log_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        moves = []
        for line in lines:
            try:
                moves.append(Move(**json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                continue
        return moves

    def undoable(self) -> list[Move]:
        """Moves not yet undone, oldest first."""
        moves = self.history()
        undone = {m.undoes for m in moves if m.kind == UNDO}
        return [m for m in moves if m.kind != UNDO and m.id not in undone]

    def undo(self, entry_id: int | None = None) -> Move:
        """Move a file back: the latest move not yet undone, or the move `entry_id`.

        If its old name has been taken since, it comes back as 'name (1).ext'.
        """
        candidates = self.undoable()
        if entry_id is None:
            if not candidates:
                raise RelabelError("There is no move to undo")
            target = candidates[-1]
        else:
            matching = [m for m in candidates if m.id == entry_id]
            if not matching:
                raise RelabelError(f"Move {entry_id} does not exist or was already undone")
            target = matching[0]
        current = Path(target.dst)
        if not current.is_file():
            raise RelabelError(f"Cannot undo: '{current}' is no longer there")
        return self._move(current, Path(target.src), UNDO, undoes=target.id)

    def _dataset_file(self, path: str | os.PathLike[str]) -> Path:
        src = Path(os.path.abspath(path))
        if not src.is_relative_to(self.root) or len(src.relative_to(self.root).parts) < 2:
            raise RelabelError(f"'{src}' is not an image inside a class folder of '{self.root}'")
        if not src.is_file():
            raise RelabelError(f"'{src}' does not exist")
        return src

    def _move(self, src: Path, wanted: Path, kind: str, undoes: int | None = None) -> Move:
        try:
            wanted.parent.mkdir(parents=True, exist_ok=True)
            dst = move_without_overwrite(src, wanted)
        except OSError as e:
            raise RelabelError(
                f"Could not move '{src.name}' to '{wanted.parent}': "
                f"{e.strerror or e}. The file was not moved."
            ) from None
        moves = self.history()
        move = Move(
            id=max((m.id for m in moves), default=0) + 1,
            time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            src=str(src),
            dst=str(dst),
            kind=kind,
            undoes=undoes,
        )
        try:
            self._append(move)
        except OSError as e:
            # A move the log does not know of could not be undone: put the file back.
            move_without_overwrite(dst, src)
            raise RelabelError(
                f"Could not write the move log '{self.log_path}': {e.strerror or e}. "
                "The file was not moved."
            ) from None
        return move

    def _append(self, move: Move) -> None:
        line = json.dumps(move.to_dict()) + "\n"
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(line)
            log.flush()
            os.fsync(log.fileno())


def free_name(wanted: Path) -> Path:
    """`wanted`, or 'stem (1).ext', 'stem (2).ext', ... whichever does not exist yet."""
    candidate, n = wanted, 0
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = wanted.with_name(f"{wanted.stem} ({n}){wanted.suffix}")
    return candidate


def move_without_overwrite(src: Path, wanted: Path) -> Path:
    """Move `src` to `wanted` or a free variant of its name; return where it went.

    A hard link fails rather than replace an existing file, so a name taken between the
    check and the move is never overwritten; without hard links the copy is exclusive too.
    """
    while True:
        dst = free_name(wanted)
        try:
            _link_or_copy(src, dst)
        except FileExistsError:
            continue  # taken in the meantime: try the next name
        break
    try:
        os.unlink(src)
    except OSError:
        os.unlink(dst)  # the original stays; drop the second name
        raise
    return dst


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
        return
    except OSError as e:
        if isinstance(e, FileExistsError) or e.errno not in _NO_HARD_LINKS:
            raise
    # Another file system, or one without hard links: an exclusive copy, then fsync.
    try:
        with open(src, "rb") as fin, open(dst, "xb") as fout:
            shutil.copyfileobj(fin, fout)
            fout.flush()
            os.fsync(fout.fileno())
        shutil.copystat(src, dst)
    except FileExistsError:
        raise
    except OSError:
        if dst.exists():
            os.unlink(dst)
        raise
