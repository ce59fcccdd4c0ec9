"""The domain-shift tab's two charts: the 2-D map of training and target images (a click picks a
point) and the predicted class shares on the target against the training shares."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from tlstudio.domain import DomainShift, MapPoint
from tlstudio.gui.shared.palette_colours import (
    base_colour,
    domain_colours,
    muted_text,
    text_colour,
)

NAMES = {"source": "training images", "target": "target images"}
MOST_CLASSES = 15  # bars beyond this many classes are unreadable: the largest differences
POINT_SIZE = 9


def _style(plot: pg.PlotWidget, bottom: str, left: str) -> None:
    """Axes and legend in the palette's colours (a dark palette keeps them readable)."""
    item = plot.getPlotItem()
    item.setMenuEnabled(False)
    item.showGrid(x=True, y=True, alpha=0.15)
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen(muted_text()))
        axis.setTextPen(pg.mkPen(text_colour()))
        axis.enableAutoSIPrefix(False)
    item.setLabel("left", left)
    item.setLabel("bottom", bottom)
    legend = item.addLegend(offset=(-8, 8), labelTextColor=text_colour())
    background = base_colour()
    background.setAlpha(210)
    legend.setBrush(pg.mkBrush(background))


class ShiftMap(pg.PlotWidget):
    """`shiftMap`: one dot per image on the first two principal components of the backbone's
    features, training images and target images in two colours; `pointClicked` gives the
    index of a clicked point in the shift's points."""

    pointClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=base_colour())
        self.setObjectName("shiftMap")
        self.setAccessibleName("Domain shift map")
        self.setAccessibleDescription(
            "Each dot is an image: training images and target "
            "images in two colours; click a dot to see its image"
        )
        _style(self, "first principal component", "second principal component")
        self.points: tuple[MapPoint, ...] = ()
        colours = domain_colours()
        self.scatters = {}
        for domain in ("source", "target"):
            scatter = pg.ScatterPlotItem(
                size=POINT_SIZE,
                brush=pg.mkBrush(colours[domain]),
                pen=pg.mkPen(base_colour(), width=0.8),
                name=NAMES[domain],
            )
            scatter.sigClicked.connect(self._on_clicked)
            self.getPlotItem().addItem(scatter)
            self.scatters[domain] = scatter
        self.marker = pg.ScatterPlotItem(
            size=POINT_SIZE + 8, brush=pg.mkBrush(None), pen=pg.mkPen(text_colour(), width=2)
        )
        self.getPlotItem().addItem(self.marker, ignoreBounds=True)

    def show_points(self, points: tuple[MapPoint, ...]) -> None:
        self.points = tuple(points)
        self.marker.setData([], [])
        for domain, scatter in self.scatters.items():
            indices = [i for i, p in enumerate(self.points) if p.domain == domain]
            scatter.setData(
                [self.points[i].x for i in indices],
                [self.points[i].y for i in indices],
                data=indices,
            )
        self.getPlotItem().autoRange()

    def point_position(self, index: int) -> tuple[float, float]:
        return self.points[index].x, self.points[index].y

    def mark(self, index: int) -> None:
        x, y = self.point_position(index)
        self.marker.setData([x], [y])

    def _on_clicked(self, _scatter, spots, _event=None) -> None:
        if len(spots):
            self.pointClicked.emit(int(spots[0].data()))


def class_rows(shift: DomainShift) -> list[tuple[str, float, float]]:
    """(class, training share, predicted target share); with many classes, the ones whose
    shares differ most, in the model's class order."""
    rows = [
        (name, share, shift.target_distribution.get(name, 0.0))
        for name, share in shift.training_distribution.items()
    ]
    if len(rows) <= MOST_CLASSES:
        return rows
    keep = set(sorted(range(len(rows)), key=lambda i: -abs(rows[i][1] - rows[i][2]))[:MOST_CLASSES])
    return [row for i, row in enumerate(rows) if i in keep]


def legend_html() -> str:
    """The class chart's legend as rich text, for a label above it."""
    colours = domain_colours()
    return " ".join(
        f"<span style='color:{colours[d]}'>&#9632;</span> {name}"
        for d, name in (("source", "training images"), ("target", "predicted on target"))
    )


class ClassShares(pg.PlotWidget):
    """`shiftClasses`: per class, its share of the training images beside its share of the
    model's predictions on the target images."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=base_colour())
        self.setObjectName("shiftClasses")
        self.setAccessibleName("Predicted classes on the target against the training classes")
        _style(self, "class", "share of images (%)")
        self.getPlotItem().setMouseEnabled(x=False, y=False)
        self.getPlotItem().legend.hide()  # the bars would hide it: `legend_html` says it
        colours = domain_colours()
        self.bars = {
            domain: pg.BarGraphItem(
                x=[],
                height=[],
                width=0.38,
                brush=pg.mkBrush(colours[domain]),
                pen=pg.mkPen(colours[domain]),
                name=name,
            )
            for domain, name in (("source", "training images"), ("target", "predicted on target"))
        }
        for bars in self.bars.values():
            self.getPlotItem().addItem(bars)
        self.rows: list[tuple[str, float, float]] = []

    def show_shares(self, shift: DomainShift) -> None:
        self.rows = class_rows(shift)
        x = np.arange(len(self.rows), dtype=float)
        self.bars["source"].setOpts(x=x - 0.2, height=[100 * r[1] for r in self.rows])
        self.bars["target"].setOpts(x=x + 0.2, height=[100 * r[2] for r in self.rows])
        self.getPlotItem().getAxis("bottom").setTicks(
            [[(i, r[0]) for i, r in enumerate(self.rows)]]
        )
        top = max([100 * max(r[1], r[2]) for r in self.rows], default=1.0)
        self.getPlotItem().setRange(
            xRange=(-0.7, len(self.rows) - 0.3), yRange=(0, top * 1.25), padding=0
        )
