"""Plots on a dark palette (issue 12 bug 5): every plot's axis numbers, axis titles and legend
read against its background (pyqtgraph's defaults put dark legend text on white boxes)."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtGui import QColor
from window_helpers import contrast, make_tiny_window

from tlstudio.gui.dataset.dataset_view import ClassCountChart

READABLE = 4.5  # WCAG AA for text


def test_plot_axes_and_legends_read_on_a_dark_palette(
    qtbot, dark_palette, settings_dir: Path, tmp_path: Path
) -> None:
    window = make_tiny_window(qtbot, tmp_path / "runs")
    plots = window.findChildren(pg.PlotWidget)
    assert any(isinstance(p, ClassCountChart) for p in plots) and len(plots) >= 4
    legends = 0
    for plot in plots:
        background = plot.backgroundBrush().color()
        assert background.lightnessF() < 0.5, plot.objectName()
        item = plot.getPlotItem()
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            assert contrast(axis.textPen().color(), background) >= READABLE, plot.objectName()
            if axis.labelText:
                title = QColor(axis.labelStyle["color"])
                assert contrast(title, background) >= READABLE, (plot.objectName(), side)
        legend = item.legend
        if legend is not None:
            legends += 1
            text = pg.mkColor(legend.opts["labelTextColor"])
            assert contrast(text, legend.opts["brush"].color()) >= READABLE, plot.objectName()
            assert legend.opts["brush"].color().lightnessF() < 0.5  # no white box on dark
    assert legends >= 2  # the loss and accuracy plots name their curves
    window.close()
