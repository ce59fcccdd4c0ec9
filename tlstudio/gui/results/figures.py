"""The Results tab's figures: the confusion matrix (with its legend) beside the metrics table, or
above it when the tab is too narrow for both, so that neither is cut off at the right (at
1024 px wide, or at 150 % scale, the table once lost its F1 and Support columns)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from tlstudio.gui.results.confusion_matrix import ConfusionMatrixView
from tlstudio.gui.results.metrics_table import MetricsTable
from tlstudio.gui.shared.palette_colours import muted_text

MATRIX_FIRST = 480  # px of width the matrix gets before the metrics table; beyond, it scrolls
TABLE_MIN_WIDTH = 160  # the metrics table shrinks to this and scrolls sideways
LEGEND = (
    "Rows: true class · columns: predicted class · colour: share of the row. Click a "
    "cell to see its images in the Gallery."
)


def scroll_area(widget: QWidget, name: str) -> QScrollArea:
    """`widget` filling the area while there is room, scrolling below its minimum size."""
    area = QScrollArea(objectName=name, widgetResizable=True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


class Figures(QSplitter):
    """Matrix and table side by side while both fit their width, else one above the other."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("resultsFigures")
        self.matrix = ConfusionMatrixView()
        self.legend = legend = QLabel(LEGEND, objectName="matrixLegend", wordWrap=True)
        legend.setStyleSheet(f"color:{muted_text()};")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        # Counts stay readable: the matrix keeps its minimum cells (scrolling if it must).
        self.matrix_area = scroll_area(self.matrix, "matrixScroll")
        left_layout.addWidget(self.matrix_area, 1)
        left_layout.addWidget(legend)
        self.table = MetricsTable()
        self.table_area = scroll_area(self.table, "metricsScroll")
        self.table_area.setMinimumWidth(TABLE_MIN_WIDTH)
        self.addWidget(left)
        self.addWidget(self.table_area)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self.setChildrenCollapsible(False)

    def show_matrix(self, classes: Sequence[str], counts: Sequence[Sequence[int]]) -> None:
        """The matrix gets the width its smallest readable cells need (up to MATRIX_FIRST)
        before the metrics table gets any."""
        self.matrix.set_matrix(classes, counts)
        needed = self.matrix.minimumSizeHint().width() + 2 * self.matrix_area.frameWidth()
        self.matrix_area.setMinimumWidth(min(MATRIX_FIRST, needed))
        self.fit(share=True)

    def table_width(self) -> int:
        """The width the whole table needs (every column, no sideways scrolling)."""
        return self.table.minimumWidth() + 2 * self.table_area.frameWidth()

    def fit(self, share: bool = False) -> None:
        """Side by side when both fit, else the table below the matrix, at its full width; side
        by side, the table gets its whole width before the matrix grows; one above the other,
        the matrix gets its whole height (`share`: share the room out again)."""
        table = self.table_width()
        wide = self.width() >= self.matrix_area.minimumWidth() + table + self.handleWidth()
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if orientation != self.orientation():
            self.setOrientation(orientation)
            share = True
        if wide and self.table_area.width() < table:
            self.setSizes([self.width() - table - self.handleWidth(), table])
        elif not wide and share:
            legend = self.legend.heightForWidth(self.width())
            top = self.matrix.minimumSizeHint().height() + max(legend, 0) + 8
            top = min(top, self.height() * 2 // 3)  # a third at least for the table
            self.setSizes([top, self.height() - top - self.handleWidth()])

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)
        self.fit()
