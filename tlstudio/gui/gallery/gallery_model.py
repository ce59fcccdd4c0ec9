"""The gallery's list model (filtered, sorted ImageRecords) and how one tile is painted."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from tlstudio.evaluation import ImageRecord
from tlstudio.filenames import printable
from tlstudio.gui.shared.thumbnails import THUMB_PX, ThumbnailLoader

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
RIGHT, WRONG, UNLABELLED = QColor("#2e9e4f"), QColor("#d13b3b"), QColor("#8a8a8a")
TILE = QSize(THUMB_PX + 16, THUMB_PX + 40)

# How the gallery can order its images: label shown to the user -> (key, highest first).
SORTS = {
    "Top losses first": ("loss", True),
    "Most confident first": ("confidence", True),
    "Least confident first": ("confidence", False),
    "Folder order": ("", False),
}


@dataclass(frozen=True)
class GalleryFilter:
    """Which records the gallery shows."""

    kind: str = "all"  # "all", "misclassified", "class" (true class) or "cell"
    true: str = ""  # the class for "class"; the true class for "cell"
    predicted: str = ""  # the predicted class for "cell"

    def accepts(self, record: ImageRecord) -> bool:
        if self.kind == "misclassified":
            return not record.correct
        if self.kind == "class":
            return record.true == self.true
        if self.kind == "cell":
            return record.true == self.true and record.predicted == self.predicted
        return True


def is_labelled(record: ImageRecord) -> bool:
    """Records of new images (Try images) have no true class."""
    return bool(record.true)


class GalleryModel(QAbstractListModel):
    """All records of an evaluation; the rows are those the filter accepts, in sort order."""

    def __init__(self, thumbnails: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.records: list[ImageRecord] = []
        self.filter = GalleryFilter()
        self.sort = "Folder order"
        self._rows: list[ImageRecord] = []
        self._row_of: dict[str, int] = {}
        thumbnails.ready.connect(self._on_thumbnail)

    # ---- Qt's model interface ------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        record = self._rows[index.row()]
        if role == RECORD_ROLE:
            return record
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.pixmap(record.path)
        if role == Qt.ItemDataRole.DisplayRole:
            if is_labelled(record) and not record.correct:
                return f"{record.true} → {record.predicted} {record.confidence:.0%}"
            return f"{record.predicted} {record.confidence:.0%}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return describe(record)
        return None

    # ---- what the gallery changes --------------------------------------------------------

    def set_records(self, records: list[ImageRecord]) -> None:
        self.records = list(records)
        self._rebuild()

    def set_filter(self, gallery_filter: GalleryFilter) -> None:
        self.filter = gallery_filter
        self._rebuild()

    def set_sort(self, sort: str) -> None:
        self.sort = sort
        self._rebuild()

    def replace(self, path: str | None, record: ImageRecord | None) -> None:
        """Swap the record of `path` (None: none) for `record` (None: drop it): a moved image."""
        self.records = [r for r in self.records if r.path != path] + (
            [] if record is None else [record])
        self._rebuild()

    def record(self, row: int) -> ImageRecord:
        return self._rows[row]

    def row_of(self, path: str) -> int | None:
        return self._row_of.get(path)

    def shown(self) -> list[ImageRecord]:
        return list(self._rows)

    def _rebuild(self) -> None:
        rows = [r for r in self.records if self.filter.accepts(r)]
        key, highest_first = SORTS.get(self.sort, ("", False))
        if key:
            rows.sort(key=lambda r: _finite(getattr(r, key)), reverse=highest_first)
        self.beginResetModel()
        self._rows = rows
        self._row_of = {r.path: i for i, r in enumerate(rows)}
        self.endResetModel()

    def _on_thumbnail(self, path: str) -> None:
        row = self._row_of.get(path)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


def describe(record: ImageRecord) -> str:
    lines = [printable(Path(record.path).name)]
    if is_labelled(record):
        lines.append(f"true: {record.true}")
    lines.append(f"predicted: {record.predicted} ({record.confidence:.1%})")
    if is_labelled(record) and math.isfinite(record.loss):
        lines.append(f"loss: {record.loss:.3f}")
    return "\n".join(lines)


class GalleryDelegate(QStyledItemDelegate):
    """A tile: the thumbnail (or a grey placeholder), a green or red mark for right or
    wrong, and the predicted label with its confidence."""

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        return TILE

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        record: ImageRecord = index.data(RECORD_ROLE)
        pixmap: QPixmap | None = index.data(Qt.ItemDataRole.DecorationRole)
        rect = option.rect.adjusted(3, 3, -3, -3)
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, option.palette.highlight().color().lighter(160))
        mark = RIGHT if record.correct else WRONG
        if not is_labelled(record):
            mark = UNLABELLED
        box = QRect(rect.left() + (rect.width() - THUMB_PX) // 2, rect.top() + 4,
                    THUMB_PX, THUMB_PX)
        if pixmap is None:  # not decoded yet
            painter.fillRect(box, QColor("#e6e6e6"))
        elif pixmap.isNull():  # unreadable
            painter.fillRect(box, QColor("#f3dede"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "unreadable")
        else:
            scaled = pixmap.scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                   Qt.TransformationMode.FastTransformation)
            painter.drawPixmap(box.left() + (box.width() - scaled.width()) // 2,
                               box.top() + (box.height() - scaled.height()) // 2, scaled)
        painter.setPen(QPen(mark, 3))
        painter.drawRect(box.adjusted(-2, -2, 1, 1))
        painter.setPen(QPen(mark.darker(130) if is_labelled(record) else option.palette.text()
                            .color()))
        text_rect = QRect(rect.left(), box.bottom() + 4, rect.width(), rect.bottom() - box.bottom()
                          - 4)
        text = index.data(Qt.ItemDataRole.DisplayRole)
        text = QFontMetrics(option.font).elidedText(text, Qt.TextElideMode.ElideMiddle,
                                                     text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         text)
        painter.restore()
