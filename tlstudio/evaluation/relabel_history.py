"""Moves made from the gallery: which dataset folder an image belongs to, the DatasetEditor
that moves it, the record it becomes, and undo. The moves logs beside the datasets are the
only memory, so a restarted window sees (and undoes) earlier sessions' and the CLI's moves.
Qt-free.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

from tlstudio.errors import TlstudioError
from tlstudio.evaluation import DatasetEditor, ImageRecord, Move, RelabelError
from tlstudio.evaluation.run_eval import MIN_PROBABILITY, run_recipe


@dataclass(frozen=True)
class RelabelMove:
    editor: DatasetEditor  # the editor of the dataset folder the image was in
    move: Move  # what the log recorded
    before: ImageRecord  # the record as it was
    after: ImageRecord | None  # the record now (None: quarantined, out of the dataset)


def dataset_roots(run_dir: str | os.PathLike[str]) -> list[Path]:
    """The run's labelled folders (validation folder first), from its recipe; [] if unknown."""
    try:
        recipe = run_recipe(run_dir)
    except (TlstudioError, OSError, ValueError):
        return []
    return [Path(os.path.abspath(d)) for d in (recipe.val_dir, recipe.data_dir) if d]


def relabelled(record: ImageRecord, new_class: str, new_path: str) -> ImageRecord:
    """The record of an image moved to `new_class`: the same prediction, a new true class.

    The loss needs p(new class); if it is not among the top 5, the 5th probability bounds it.
    """
    probabilities = dict(record.top5)
    p = probabilities.get(new_class, min(probabilities.values(), default=0.0))
    return replace(record, path=new_path, true=new_class,
                   loss=-math.log(max(p, MIN_PROBABILITY)))


def moved_files(moves: list[Move]) -> dict[str, str]:
    """Where the files a log moved are now: path before the first move -> path now.

    Replays every move, undos included, so a file put back under a free variant of its name
    ('002 (1).png') is followed too; a file moved back to where it was is left out.
    """
    origin_at: dict[str, str] = {}  # a path now -> the path that file had before the log
    for move in moves:  # oldest first
        origin_at[move.dst] = origin_at.pop(move.src, move.src)
    return {origin: now for now, origin in origin_at.items() if origin != now}


class RelabelHistory:
    """Moves images of the datasets under `roots`; undo pops the datasets' move logs."""

    def __init__(self, roots: list[Path] | None = None) -> None:
        self.roots: list[Path] = []
        self._editors: dict[Path, DatasetEditor] = {}
        self._order: dict[tuple[Path, int], int] = {}  # (root, move id) -> nth move made here
        self.set_roots(roots or [])

    def set_roots(self, roots: list[Path]) -> None:
        self.roots = [Path(os.path.abspath(r)) for r in roots]

    def editor_for(self, path: str) -> DatasetEditor:
        image = Path(os.path.abspath(path))
        for root in self.roots:
            if image.is_relative_to(root) and len(image.relative_to(root).parts) >= 2:
                return self._editor(root)
        raise RelabelError(f"'{image.name}' is not inside the run's dataset folder, so it "
                           "cannot be moved from here")

    def relabel(self, record: ImageRecord, new_class: str) -> RelabelMove:
        editor = self.editor_for(record.path)
        move = editor.relabel(record.path, new_class)
        return self._remember(RelabelMove(editor, move, record,
                                          relabelled(record, new_class, move.dst)))

    def quarantine(self, record: ImageRecord) -> RelabelMove:
        editor = self.editor_for(record.path)
        return self._remember(RelabelMove(editor, editor.quarantine(record.path), record, None))

    def can_undo(self) -> bool:
        return self._latest() is not None

    def undo(self) -> Move:
        """Put back the latest move of the datasets' logs, whether made here, in an earlier
        session or from the CLI; returns the undo (its `dst`: where the file is back).
        Raises RelabelError (and the log keeps the move) if it cannot."""
        latest = self._latest()
        if latest is None:
            raise RelabelError("There is no move to undo")
        editor, move = latest
        return editor.undo(move.id)

    def follow(self, records: tuple[ImageRecord, ...] | list[ImageRecord]) -> list[ImageRecord]:
        """Records stored before moves, with the logged moves applied: a relabelled image
        has its new path and class; a quarantined one leaves the list."""
        now: dict[str, tuple[Path, str]] = {}  # path in the records -> (its root, path now)
        for editor in self._existing_editors():
            for origin, path in moved_files(editor.history()).items():
                now[origin] = (editor.root, path)
        result = []
        for record in records:
            moved = now.get(os.path.abspath(record.path))
            if moved is None:
                result.append(record)
                continue
            root, path = moved
            parts = Path(path).relative_to(root).parts if Path(path).is_relative_to(root) else ()
            if len(parts) >= 2:  # in a class folder; outside the dataset: quarantined
                result.append(relabelled(record, parts[0], path))
        return result

    def _latest(self) -> tuple[DatasetEditor, Move] | None:
        """The move undo pops: each log's last undoable move; of those, the latest, and of
        moves made in the same second, the last one made here."""
        lasts = [(editor, moves[-1]) for editor in self._existing_editors()
                 if (moves := editor.undoable())]
        return max(lasts, key=lambda last: (last[1].time,
                                            self._order.get((last[0].root, last[1].id), 0)),
                   default=None)

    def _editor(self, root: Path) -> DatasetEditor:
        if root not in self._editors:
            self._editors[root] = DatasetEditor(root)
        return self._editors[root]

    def _existing_editors(self) -> list[DatasetEditor]:
        """Editors of the roots that exist (a run's dataset may have been removed since)."""
        editors = []
        for root in self.roots:
            try:
                editors.append(self._editor(root))
            except RelabelError:
                continue
        return editors

    def _remember(self, move: RelabelMove) -> RelabelMove:
        self._order[(move.editor.root, move.move.id)] = len(self._order) + 1
        return move
