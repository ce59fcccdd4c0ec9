"""Moves made from the gallery: which dataset folder an image belongs to, the DatasetEditor
that moves it, the record it becomes, and the stack the gallery's Undo pops. Qt-free.
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
class GalleryMove:
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


class DatasetFixes:
    """Moves images of the datasets under `roots` and remembers them for undo."""

    def __init__(self, roots: list[Path] | None = None) -> None:
        self.roots = list(roots or [])
        self.done: list[GalleryMove] = []  # this session's moves not undone, oldest first
        self._editors: dict[Path, DatasetEditor] = {}

    def set_roots(self, roots: list[Path]) -> None:
        self.roots = [Path(os.path.abspath(r)) for r in roots]

    def editor_for(self, path: str) -> DatasetEditor:
        image = Path(os.path.abspath(path))
        for root in self.roots:
            if image.is_relative_to(root) and len(image.relative_to(root).parts) >= 2:
                if root not in self._editors:
                    self._editors[root] = DatasetEditor(root)
                return self._editors[root]
        raise RelabelError(f"'{image.name}' is not inside the run's dataset folder, so it "
                           "cannot be moved from here")

    def relabel(self, record: ImageRecord, new_class: str) -> GalleryMove:
        editor = self.editor_for(record.path)
        move = editor.relabel(record.path, new_class)
        return self._remember(GalleryMove(editor, move, record,
                                          relabelled(record, new_class, move.dst)))

    def quarantine(self, record: ImageRecord) -> GalleryMove:
        editor = self.editor_for(record.path)
        return self._remember(GalleryMove(editor, editor.quarantine(record.path), record, None))

    def undo(self) -> tuple[GalleryMove, ImageRecord]:
        """Put back the last move made here: that move and the record of the image back in
        place. Raises RelabelError (and keeps the move) if it cannot."""
        if not self.done:
            raise RelabelError("There is no move to undo")
        last = self.done[-1]
        back = last.editor.undo(last.move.id)
        self.done.pop()
        return last, replace(last.before, path=back.dst)

    def follow(self, records: tuple[ImageRecord, ...] | list[ImageRecord]) -> list[ImageRecord]:
        """A newer evaluation's records (stored before the moves) with the moves applied."""
        moved = {m.before.path: m for m in self.done}
        result = []
        for record in records:
            m = moved.get(record.path)
            if m is None:
                result.append(record)
            elif m.after is not None:  # relabelled; quarantined images leave the gallery
                result.append(relabelled(record, m.after.true, m.after.path))
        return result

    def _remember(self, move: GalleryMove) -> GalleryMove:
        self.done.append(move)
        return move
