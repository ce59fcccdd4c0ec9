"""The metrics table: precision, recall, F1 and support per class, then accuracy and the macro
and weighted averages. Each number cell keeps its unrounded value under Qt.UserRole; a number
a class without images does not have is shown as "\u2014".
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from tlstudio.evaluation.metrics import ClassMetrics, Evaluation
from tlstudio.gui.shared.palette_colours import summary_background

COLUMNS = ("Class", "Precision", "Recall", "F1", "Support")
HELP = (
    "",
    "Of the images predicted as this class, the share that really are",
    "Of the images of this class, the share the model found",
    "Harmonic mean of precision and recall",
    "Number of images of this class",
)
WEAK = QColor("#b3261e")  # a class whose F1 is below WEAK_F1 is written in red
WEAK_F1 = 0.5
UNDEFINED = "\u2014"  # a number that a class without images does not have
NO_IMAGES = "No images of this class among the evaluated images"


class MetricsTable(QTableWidget):
    """Read-only; rows: one per class, "accuracy", "macro avg", "weighted avg"."""

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS), objectName="metricsTable")
        self.setHorizontalHeaderLabels(COLUMNS)
        for column, text in enumerate(HELP):
            self.horizontalHeaderItem(column).setToolTip(text)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def show_evaluation(self, ev: Evaluation) -> None:
        self.clearSpans()
        self.setRowCount(len(ev.per_class) + 3)
        for row, metrics in enumerate(ev.per_class):
            self._fill_row(row, metrics, summary=False)
        accuracy_row = len(ev.per_class)
        self._set(accuracy_row, 0, "accuracy", None, summary=True)
        self._set(accuracy_row, 1, f"{ev.accuracy:.1%}", ev.accuracy, summary=True)
        self.setSpan(accuracy_row, 1, 1, 3)
        self._set(accuracy_row, 4, str(ev.total), ev.total, summary=True)
        self._fill_row(accuracy_row + 1, ev.macro, summary=True)
        self._fill_row(accuracy_row + 2, ev.weighted, summary=True)
        self._fit_width()

    def _fit_width(self) -> None:
        """Wide enough for every column: a number cut off is worse than a narrower matrix."""
        self.resizeColumnsToContents()
        columns = sum(self.columnWidth(c) for c in range(self.columnCount()))
        self.setMinimumWidth(columns + 2 * self.frameWidth()
                             + self.verticalScrollBar().sizeHint().width() + 2)

    def clear_rows(self) -> None:
        self.clearSpans()
        self.setRowCount(0)

    def row_of(self, name: str) -> int:
        for row in range(self.rowCount()):
            if self.item(row, 0).text() == name:
                return row
        raise KeyError(name)

    def value(self, name: str, column: str) -> float | None:
        """The unrounded number shown for row `name` ("cat", "accuracy", "macro avg") in
        `column` ("Precision", ...); accuracy is under "Precision" (its cell spans three).
        None where the table shows "\u2014" (a class without images)."""
        item = self.item(self.row_of(name), COLUMNS.index(column))
        return item.data(Qt.ItemDataRole.UserRole)

    def _fill_row(self, row: int, metrics: ClassMetrics, summary: bool) -> None:
        self._set(row, 0, metrics.name, None, summary)
        for column, value in enumerate((metrics.precision, metrics.recall, metrics.f1), 1):
            if value is None:  # a class without images has no recall or F1
                self._set(row, column, UNDEFINED, None, summary)
                self.item(row, column).setToolTip(NO_IMAGES)
                self.item(row, column).setTextAlignment(
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            else:
                self._set(row, column, f"{value:.3f}", value, summary)
        self._set(row, 4, str(metrics.support), metrics.support, summary)
        if not summary and metrics.f1 is not None and metrics.f1 < WEAK_F1:
            self.item(row, 3).setForeground(QBrush(WEAK))
            self.item(row, 3).setToolTip(f"F1 below {WEAK_F1}: this class needs attention")

    def _set(self, row: int, column: int, text: str, value: float | int | None,
             summary: bool) -> None:
        item = QTableWidgetItem(text)
        if value is not None:
            item.setData(Qt.ItemDataRole.UserRole, value)
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if summary:
            font = QFont(item.font())
            font.setBold(True)
            item.setFont(font)
            item.setBackground(QBrush(summary_background()))
        self.setItem(row, column, item)
