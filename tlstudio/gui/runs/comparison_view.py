"""Runs side by side: overlaid loss and accuracy curves (one colour per run; solid validation,
dashed training), the metrics table and the recipe settings that differ. It only shows a
`RunsComparison` that the core read."""

from __future__ import annotations

from html import escape

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from tlstudio.evaluation import NO_RECIPE, ComparedRun, RunsComparison
from tlstudio.gui.runs.runs_table import accuracy_text, seconds_text
from tlstudio.gui.shared.palette_colours import muted_text, series_colour
from tlstudio.gui.training.plots import styled_plot

METRIC_COLUMNS = ("Run", "Best val accuracy", "Macro-F1", "Epochs", "Time", "Backbone", "Strategy")
CURVES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")
MAX_METRIC_ROWS, MAX_SETTING_ROWS = 6, 8  # rows shown before a table scrolls


def swatch(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


def legend_html(runs: tuple[ComparedRun, ...]) -> str:
    """Each run's colour and name, then what the line styles mean (the text is the palette's)."""
    entries = [
        f'<span style="color:{series_colour(i)}; font-weight:bold">━━●━━</span>'
        f"&nbsp;{escape(r.name)}"
        for i, r in enumerate(runs)
    ]
    muted = muted_text()
    entries.append(
        f'<span style="color:{muted}">━━━</span>&nbsp;validation&nbsp;&nbsp;'
        f'<span style="color:{muted}">- - -</span>&nbsp;training'
    )
    return "&nbsp;&nbsp;&nbsp; ".join(entries)


def title_text(runs: tuple[ComparedRun, ...]) -> str:
    """How many runs, and whose curves are missing and why."""
    untrained = [r.name for r in runs if not r.curves.epochs]
    unvalidated = [r.name for r in runs if r.curves.epochs and not r.curves.val_epochs]
    text = f"Comparing {len(runs)} runs."
    if untrained:
        text += f" No curves for {', '.join(untrained)}: no epoch trained there."
    if unvalidated:
        text += (
            f" Training curves only for {', '.join(unvalidated)}: no images were held "
            "out for validation."
        )
    return text


def fit_height(table: QTableWidget, most_rows: int) -> None:
    """As tall as its rows (up to `most_rows`, then it scrolls), so the plots get the rest."""
    table.resizeRowsToContents()
    rows = sum(table.rowHeight(r) for r in range(min(table.rowCount(), most_rows)))
    header = table.horizontalHeader().sizeHint().height()
    scroll = table.horizontalScrollBar().sizeHint().height()
    table.setFixedHeight(header + rows + scroll + 2 * table.frameWidth())


def _table(name: str) -> QTableWidget:
    table = QTableWidget(objectName=name)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _cell(text: str, bold: bool = False, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if bold:
        font = QFont()
        font.setBold(True)
        item.setFont(font)
    item.setToolTip(tip or text)
    return item


class RunsComparisonView(QWidget):
    """Empty until `show_comparison`; `curves[i]` holds run i's four curves by name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="runsComparison")
        self.title = QLabel(objectName="comparisonTitle")
        self.title.setWordWrap(True)
        # The legend is a line of text above the plots: inside them, it hid the curves.
        self.legend = QLabel(objectName="comparisonLegend")
        self.legend.setWordWrap(True)
        self.loss_plot = styled_plot("compareLossPlot", "loss", self)
        self.accuracy_plot = styled_plot("compareAccuracyPlot", "accuracy (%)", self)
        self.accuracy_plot.setXLink(self.loss_plot)
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.getPlotItem().setClipToView(False)  # a few epochs each: every point is drawn
            plot.getPlotItem().legend.hide()
        self.metrics = _table("compareMetricsTable")
        self.differences = _table("recipeDifferencesTable")
        self.differences_label = QLabel("Recipe settings that differ")
        self.differences_label.setWordWrap(True)
        self.curves: list[dict[str, pg.PlotDataItem]] = []

        # Tables the full width, under the plots: a recipe's list of stages is long.
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title, 0, 0, 1, 2)
        layout.addWidget(self.legend, 1, 0, 1, 2)
        layout.addWidget(self.loss_plot, 2, 0)
        layout.addWidget(self.accuracy_plot, 2, 1)
        layout.addWidget(self.metrics, 3, 0, 1, 2)
        layout.addWidget(self.differences_label, 4, 0, 1, 2)
        layout.addWidget(self.differences, 5, 0, 1, 2)
        layout.setRowStretch(2, 1)  # the tables take the height of their rows, the plots the rest
        for column in (0, 1):
            layout.setColumnStretch(column, 1)

    def show_comparison(self, comparison: RunsComparison) -> None:
        runs = comparison.runs
        self.title.setText(title_text(runs))
        self.legend.setText(legend_html(runs))
        self._draw_curves(runs)
        self._fill_metrics(runs)
        self._fill_differences(comparison)
        for table, rows in ((self.metrics, MAX_METRIC_ROWS), (self.differences, MAX_SETTING_ROWS)):
            fit_height(table, rows)

    def _draw_curves(self, runs: tuple[ComparedRun, ...]) -> None:
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.getPlotItem().clear()  # the legend's entries go with their curves
        self.curves = []
        for i, run in enumerate(runs):
            colour, c = series_colour(i), run.curves
            drawn = {}
            for key in CURVES:
                plot = self.loss_plot if key.endswith("loss") else self.accuracy_plot
                values = getattr(c, key)
                ys = [100 * v for v in values] if key.endswith("accuracy") else list(values)
                training = key.startswith("train")
                pen = pg.mkPen(
                    colour,
                    width=1.5 if training else 2.5,
                    style=Qt.PenStyle.DashLine if training else Qt.PenStyle.SolidLine,
                )
                drawn[key] = plot.plot(
                    list(c.epochs_of(key)),
                    ys,
                    pen=pen,
                    antialias=True,
                    symbol=None if training else "o",
                    symbolSize=6,
                    symbolBrush=colour,
                    symbolPen=None,
                )
            self.curves.append(drawn)
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.getPlotItem().enableAutoRange()

    def _fill_metrics(self, runs: tuple[ComparedRun, ...]) -> None:
        table = self.metrics
        table.clear()
        table.setColumnCount(len(METRIC_COLUMNS))
        table.setHorizontalHeaderLabels(METRIC_COLUMNS)
        table.setRowCount(len(runs))
        known = [
            r.summary.best_val_accuracy for r in runs if r.summary.best_val_accuracy is not None
        ]
        best = max(known) if known else None
        for row, run in enumerate(runs):
            s = run.summary
            name = _cell(s.name, tip=str(s.path))
            name.setIcon(swatch(series_colour(row)))
            values = (
                accuracy_text(s.best_val_accuracy),
                "—" if run.macro_f1 is None else f"{run.macro_f1:.3f}",
                str(s.epochs),
                seconds_text(s.seconds),
                s.backbone,
                s.strategy,
            )
            table.setItem(row, 0, name)
            for column, text in enumerate(values, start=1):
                bold = column == 1 and best is not None and s.best_val_accuracy == best
                table.setItem(row, column, _cell(text, bold=bold))

    def _fill_differences(self, comparison: RunsComparison) -> None:
        table, runs = self.differences, comparison.runs
        table.clear()
        table.setColumnCount(1 + len(runs))
        table.setHorizontalHeaderLabels(["Setting", *(r.name for r in runs)])
        header = table.horizontalHeader()
        for column in range(1, table.columnCount()):  # long values elide; tooltips hold them
            table.horizontalHeaderItem(column).setIcon(swatch(series_colour(column - 1)))
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        differences = comparison.differences
        table.setRowCount(len(differences))
        for row, difference in enumerate(differences):
            table.setItem(row, 0, _cell(difference.label, tip=difference.field))
            # Bold: not what the first run with a recipe has, so the eye finds what changed.
            first = next(v for v in difference.values if v != NO_RECIPE)
            for column, text in enumerate(difference.values, start=1):
                table.setItem(row, column, _cell(text, bold=text not in (first, NO_RECIPE)))
        without = [r.name for r in runs if not r.has_recipe]
        self.differences_label.setText(self._differences_caption(comparison, without))

    @staticmethod
    def _differences_caption(comparison: RunsComparison, without: list[str]) -> str:
        count = len(comparison.differences)
        if len(comparison.runs) - len(without) < 2:
            text = "Recipe differences: fewer than two of these runs have a recipe"
        elif count == 0:
            text = f"Recipe: all {comparison.same_settings} settings are the same"
        else:
            text = (
                f"Recipe settings that differ ({count}; {comparison.same_settings} "
                "others are the same; bold: not the first recipe's value)"
            )
        if without:
            text += f". No recipe to compare: {', '.join(without)}"
        return text
