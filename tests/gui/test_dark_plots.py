"""Plots on a dark palette (issue 12 bug 5): every plot's axis numbers, axis titles and legend
read against its background (pyqtgraph's defaults put dark legend text on white boxes)."""

from __future__ import annotations

import re
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
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


def test_notes_and_log_lines_read_on_a_dark_palette(
    qtbot, dark_palette, settings_dir: Path, tmp_path: Path
) -> None:
    window = make_tiny_window(qtbot, tmp_path / "runs")
    window_colour = dark_palette.color(QPalette.ColorRole.Window)
    notes = [
        window.backbone_panel.weights_label,
        window.advanced_panel.cache_note,
        window.settings_panel.device_in_use,
    ]
    window.backbone_panel.set_backbone("tf_efficientnet_lite0")  # "bundled", a good note
    for label in notes:
        colour = QColor(re.search(r"color:\s*(#\w+)", label.styleSheet()).group(1))
        assert contrast(colour, window_colour) >= READABLE, label.objectName()
    log = window.training_view
    log.append_log("a warning", "warning")
    log.append_log("an error", "error")
    html = log.log_pane.document().toHtml()
    base = dark_palette.color(QPalette.ColorRole.Base)
    colours = {QColor(c).name() for c in re.findall(r"color:\s*(#\w{6})", html)}
    assert len(colours) >= 3  # the time stamps, the warning, the error
    for colour in colours:
        assert contrast(QColor(colour), base) >= READABLE, colour
    window.close()
