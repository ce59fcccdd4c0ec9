"""pyqtgraph plots in the window's palette: axes, their labels and legends readable on a dark
palette as on a light one (pyqtgraph's own defaults are grey on black or dark text on white)."""

from __future__ import annotations

import pyqtgraph as pg

from tlstudio.gui.shared.palette_colours import base_colour, muted_text, text_colour

LEGEND_ALPHA = 215  # a legend's background hides the curves behind it, but not entirely


def style_axes(item: pg.PlotItem, sides: tuple[str, ...] = ("left", "bottom")) -> None:
    """Axis lines in the palette's muted text colour; tick numbers and titles in its text."""
    text = text_colour().name()
    for side in sides:
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen(muted_text()))
        axis.setTextPen(pg.mkPen(text))
        style = {**axis.labelStyle, "color": text}
        if axis.labelText:  # a title set earlier takes the colour now
            axis.setLabel(axis.labelText, axis.labelUnits, axis.labelUnitPrefix, **style)
        axis.labelStyle = style  # and a title set later keeps it


def add_legend(item: pg.PlotItem, offset: tuple[int, int] = (-8, 8)) -> pg.LegendItem:
    """A legend on the palette's base colour with the palette's text colour."""
    legend = item.addLegend(offset=offset, labelTextColor=text_colour())
    fill = base_colour()
    fill.setAlpha(LEGEND_ALPHA)
    legend.setBrush(pg.mkBrush(fill))
    legend.setPen(pg.mkPen(muted_text()))
    return legend


def hover_colours() -> dict[str, object]:
    """The text, fill and border of a value shown at the mouse (TextItem's arguments)."""
    fill = base_colour()
    fill.setAlpha(230)
    return {"color": text_colour(), "fill": pg.mkBrush(fill), "border": pg.mkPen(muted_text())}
