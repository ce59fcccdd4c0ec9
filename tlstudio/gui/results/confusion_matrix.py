"""The confusion matrix as a painted grid: rows are true classes, columns predicted ones, the
colour is the cell's share of its row (blue on the diagonal, red off it), the count is written
in the cell, and clicking a cell asks for exactly those images (`cellActivated`).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

CORRECT = QColor("#1f5fa8")  # diagonal cells at 100% of their row
CONFUSED = QColor("#c0392b")  # off-diagonal cells at 100% of their row
EMPTY = QColor("#f6f7f9")  # a cell with no image
GRID = QColor("#ffffff")
LABEL_WIDTH = 140  # px at most for a class name; longer ones are elided (full name in tooltips)
AXIS_TITLE = 18  # px for "True class" / "Predicted class"
MIN_CELL, MAX_CELL = 22, 110  # px; below 22 a count of two digits is unreadable


def cell_colour(share: float, diagonal: bool) -> QColor:
    """White blended toward blue (right) or red (confused) by the share of the row."""
    target = CORRECT if diagonal else CONFUSED
    share = min(max(share, 0.0), 1.0)
    # A small floor so that even one confused image stands out from an empty cell.
    t = 0.12 + 0.88 * share if share > 0 else 0.0
    return QColor(round(255 + (target.red() - 255) * t),
                  round(255 + (target.green() - 255) * t),
                  round(255 + (target.blue() - 255) * t))


def text_colour(background: QColor) -> QColor:
    return QColor("#ffffff") if background.lightnessF() < 0.6 else QColor("#1d1d1f")


def describe_cell(true: str, predicted: str, count: int, row_total: int) -> str:
    share = count / row_total if row_total else 0.0
    verb = "correctly classified as" if true == predicted else "predicted as"
    image = "image" if count == 1 else "images"
    return (f"{count} {image} of '{true}' {verb} '{predicted}'\n"
            f"{share:.1%} of the {row_total} '{true}' images")


class ConfusionMatrixView(QWidget):
    """Shows one confusion matrix; `cellActivated(true, predicted)` when a cell is clicked."""

    cellActivated = Signal(str, str)  # true class, predicted class

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="confusionMatrixView")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # arrows move, Enter opens a cell
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("")  # tooltips come per cell from event()
        self.classes: tuple[str, ...] = ()
        self.counts: tuple[tuple[int, ...], ...] = ()
        self.placeholder = "No results yet: train a model or open a run (File > Open run…)"
        self._hover: tuple[int, int] | None = None
        self.selected: tuple[int, int] | None = None

    # ---- data ---------------------------------------------------------------------------

    def set_matrix(self, classes: Sequence[str], counts: Sequence[Sequence[int]]) -> None:
        if len(counts) != len(classes) or any(len(row) != len(classes) for row in counts):
            raise ValueError("The confusion matrix must be square, one row per class")
        self.classes = tuple(classes)
        self.counts = tuple(tuple(int(v) for v in row) for row in counts)
        self.selected = self._hover = None
        self.updateGeometry()
        self.update()

    def select_cell(self, cell: tuple[str, str] | None) -> None:
        """Outline the cell (true, predicted), or none; its classes must be shown."""
        self.selected = None if cell is None else (self.classes.index(cell[0]),
                                                   self.classes.index(cell[1]))
        self.update()

    def clear(self, placeholder: str | None = None) -> None:
        if placeholder is not None:
            self.placeholder = placeholder
        self.classes, self.counts = (), ()
        self._hover = self.selected = None
        self.update()

    def count(self, true: str, predicted: str) -> int:
        return self.counts[self.classes.index(true)][self.classes.index(predicted)]

    def cell_tooltip(self, true: str, predicted: str) -> str:
        row = self.classes.index(true)
        return describe_cell(true, predicted, self.count(true, predicted), sum(self.counts[row]))

    # ---- geometry -----------------------------------------------------------------------

    def _label_font(self) -> QFont:
        font = QFont(self.font())
        n = len(self.classes)
        font.setPointSizeF(self.font().pointSizeF() * (0.85 if n > 15 else 1.0))
        return font

    def _left_margin(self) -> int:
        metrics = QFontMetrics(self._label_font())
        widest = max((metrics.horizontalAdvance(c) for c in self.classes), default=0)
        return AXIS_TITLE + min(widest, LABEL_WIDTH) + 8

    def _rotate_columns(self, cell: int) -> bool:
        """Column names are written vertically when one of them is wider than a cell."""
        metrics = QFontMetrics(self._label_font())
        return any(metrics.horizontalAdvance(c) > cell - 4 for c in self.classes)

    def _top_margin(self, cell: int) -> int:
        metrics = QFontMetrics(self._label_font())
        if not self._rotate_columns(cell):
            return AXIS_TITLE + metrics.height() + 6
        widest = max((metrics.horizontalAdvance(c) for c in self.classes), default=0)
        return AXIS_TITLE + min(widest, LABEL_WIDTH) + 8

    def _cell_size(self) -> int:
        n = max(1, len(self.classes))
        left = self._left_margin()
        # The top margin depends on the cell size (rotated names); the widest case is safe.
        top = AXIS_TITLE + min(LABEL_WIDTH, self._widest_label()) + 8
        size = min((self.width() - left - 8) // n, (self.height() - top - 8) // n)
        size = max(MIN_CELL, min(MAX_CELL, size))
        if not self._rotate_columns(size):  # horizontal names leave more room for the cells
            top = self._top_margin(size)
            size = max(MIN_CELL, min(MAX_CELL, (self.width() - left - 8) // n,
                                     (self.height() - top - 8) // n))
        return size

    def _widest_label(self) -> int:
        metrics = QFontMetrics(self._label_font())
        return max((metrics.horizontalAdvance(c) for c in self.classes), default=0)

    def _origin(self, cell: int) -> QPoint:
        """Top-left corner of the grid, the grid centred in the free space."""
        n = len(self.classes)
        left, top = self._left_margin(), self._top_margin(cell)
        spare = max(0, self.width() - left - n * cell - 8)
        return QPoint(left + spare // 2, top)

    def cell_rect(self, row: int, column: int) -> QRect:
        cell = self._cell_size()
        origin = self._origin(cell)
        return QRect(origin.x() + column * cell, origin.y() + row * cell, cell, cell)

    def cell_center(self, true: str, predicted: str) -> QPoint:
        return self.cell_rect(self.classes.index(true), self.classes.index(predicted)).center()

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        if not self.classes:
            return None
        cell = self._cell_size()
        origin = self._origin(cell)
        column = (pos.x() - origin.x()) // cell if pos.x() >= origin.x() else -1
        row = (pos.y() - origin.y()) // cell if pos.y() >= origin.y() else -1
        n = len(self.classes)
        return (row, column) if 0 <= row < n and 0 <= column < n else None

    def sizeHint(self) -> QSize:
        n = max(3, len(self.classes))
        return QSize(self._left_margin() + n * 40 + 16, self._top_margin(40) + n * 40 + 16)

    def minimumSizeHint(self) -> QSize:
        n = max(2, len(self.classes))
        return QSize(self._left_margin() + n * MIN_CELL + 16,
                     AXIS_TITLE + min(LABEL_WIDTH, self._widest_label()) + n * MIN_CELL + 16)

    # ---- painting -----------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        painter.fillRect(self.rect(), self.palette().base())
        if not self.classes:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect().adjusted(20, 20, -20, -20),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.placeholder)
            return
        cell = self._cell_size()
        self._paint_cells(painter, cell)
        self._paint_labels(painter, cell)
        painter.end()

    def _paint_cells(self, painter: QPainter, cell: int) -> None:
        n = len(self.classes)
        count_font = QFont(self.font())
        count_font.setPixelSize(max(8, min(22, int(cell * 0.34))))
        metrics = QFontMetrics(count_font)
        painter.setFont(count_font)
        for row, counts in enumerate(self.counts):
            total = sum(counts)
            for column, count in enumerate(counts):
                rect = self.cell_rect(row, column)
                share = count / total if total else 0.0
                colour = cell_colour(share, row == column) if count else EMPTY
                painter.fillRect(rect, colour)
                text = str(count)
                if count == 0 and n > 12:
                    continue  # zeros would only add noise to a large matrix
                if metrics.horizontalAdvance(text) > cell - 2:
                    continue  # too small to read: the tooltip has it
                painter.setPen(text_colour(colour) if count else QColor("#b4b8bf"))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.setPen(QPen(GRID, 1))
        origin = self._origin(cell)
        for i in range(n + 1):
            painter.drawLine(origin.x() + i * cell, origin.y(), origin.x() + i * cell,
                             origin.y() + n * cell)
            painter.drawLine(origin.x(), origin.y() + i * cell, origin.x() + n * cell,
                             origin.y() + i * cell)
        for spot, pen in ((self._hover, QPen(QColor("#333333"), 1)),
                          (self.selected, QPen(QColor("#f0a500"), 3))):
            if spot is not None:
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(self.cell_rect(*spot).adjusted(1, 1, -2, -2))

    def _paint_labels(self, painter: QPainter, cell: int) -> None:
        n = len(self.classes)
        font = self._label_font()
        metrics = QFontMetrics(font)
        painter.setFont(font)
        painter.setPen(self.palette().text().color())
        origin = self._origin(cell)
        for i, name in enumerate(self.classes):  # true classes, right-aligned before each row
            text = metrics.elidedText(name, Qt.TextElideMode.ElideRight, LABEL_WIDTH)
            rect = QRect(origin.x() - LABEL_WIDTH - 6, origin.y() + i * cell, LABEL_WIDTH, cell)
            painter.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             text)
        rotate = self._rotate_columns(cell)
        for i, name in enumerate(self.classes):  # predicted classes above each column
            text = metrics.elidedText(name, Qt.TextElideMode.ElideRight, LABEL_WIDTH)
            x = origin.x() + i * cell
            if rotate:  # bottom-to-top, ending just above the grid
                painter.save()
                painter.translate(QPointF(x + cell / 2 + metrics.ascent() / 2 - 1,
                                          origin.y() - 6))
                painter.rotate(-90)
                painter.drawText(QPoint(0, 0), text)
                painter.restore()
            else:
                rect = QRect(x, origin.y() - metrics.height() - 4, cell, metrics.height())
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        title = QFont(self.font())
        title.setBold(True)
        painter.setFont(title)
        painter.setPen(self.palette().placeholderText().color())
        grid = QRect(origin.x(), origin.y(), n * cell, n * cell)
        painter.drawText(QRect(grid.left(), 0, grid.width(), AXIS_TITLE),
                         Qt.AlignmentFlag.AlignCenter, "Predicted class")
        # Beside the names, not at the window's edge, when the grid is centred.
        title_x = origin.x() - self._left_margin()
        painter.save()
        painter.translate(QPointF(title_x, grid.center().y()))
        painter.rotate(-90)
        painter.drawText(QRect(-grid.height() // 2, 0, grid.height(), AXIS_TITLE),
                         Qt.AlignmentFlag.AlignCenter, "True class")
        painter.restore()

    # ---- interaction --------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            spot = self.cell_at(event.pos())
            if spot is None:
                QToolTip.hideText()
                event.ignore()
            else:
                true, predicted = self.classes[spot[0]], self.classes[spot[1]]
                QToolTip.showText(event.globalPos(), self.cell_tooltip(true, predicted), self)
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        spot = self.cell_at(event.position().toPoint())
        if spot != self._hover:
            self._hover = spot
            self.setCursor(Qt.CursorShape.PointingHandCursor if spot
                           else Qt.CursorShape.ArrowCursor)
            self.update()

    def leaveEvent(self, event: QEvent) -> None:
        self._hover = None
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        spot = self.cell_at(event.position().toPoint())
        if spot is None:
            return
        self.selected = spot
        self.update()
        self.cellActivated.emit(self.classes[spot[0]], self.classes[spot[1]])

    def keyPressEvent(self, event: QKeyEvent) -> None:
        n = len(self.classes)
        moves = {Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1), Qt.Key.Key_Up: (-1, 0),
                 Qt.Key.Key_Down: (1, 0)}
        key = Qt.Key(event.key())
        if not n or key not in moves and key not in (Qt.Key.Key_Return, Qt.Key.Key_Enter,
                                                     Qt.Key.Key_Space):
            super().keyPressEvent(event)
            return
        row, column = self.selected or (0, 0)
        if key in moves:
            dr, dc = moves[key]
            self.selected = (min(n - 1, max(0, row + dr)), min(n - 1, max(0, column + dc)))
            self.update()
            return
        self.selected = (row, column)
        self.update()
        self.cellActivated.emit(self.classes[row], self.classes[column])
