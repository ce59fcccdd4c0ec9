"""Live training curves: loss per batch and per epoch, accuracy per epoch, learning rate.

Slots only buffer points; a timer redraws at most 20 times a second with `setData` on curves
created once (pyqtgraph's scrollingPlots example), clipped to view and peak-downsampled.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QTimer, Slot
from PySide6.QtWidgets import QGridLayout, QWidget

from tlstudio.gui.shared.palette_colours import base_colour, muted_text, text_colour
from tlstudio.gui.shared.plot_style import add_legend, hover_colours, style_axes
from tlstudio.training.events import EpochEnded

REDRAW_MS = 50  # at most 20 redraws a second, however fast batches come
HOVER_PIXELS = 24  # the nearest point is shown only within this distance of the mouse
BLUE, ORANGE, GREEN, PURPLE, RED = "#1f77b4", "#ff7f0e", "#2ca02c", "#6a3d9a", "#d62728"
TARGET_ACCURACY = "target accuracy"  # labelled target images of domain adaptation


class Series:
    """A growing x/y buffer (capacity doubles) and the curve that shows it."""

    def __init__(self, curve: pg.PlotDataItem, label: str) -> None:
        self.curve, self.label = curve, label
        self.x = np.empty(256)
        self.y = np.empty(256)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.resize(self.x, 2 * self.n)
            self.y = np.resize(self.y, 2 * self.n)
        self.x[self.n], self.y[self.n] = x, y
        self.n += 1

    def clear(self) -> None:
        self.n = 0

    def draw(self) -> None:
        # Copies: pyqtgraph keeps the arrays it is given, and the buffers grow in place.
        self.curve.setData(self.x[: self.n].copy(), self.y[: self.n].copy())


def styled_plot(name: str, left: str, parent: QWidget,
                legend_offset: tuple[int, int] = (-8, 8)) -> pg.PlotWidget:
    plot = pg.PlotWidget(parent, background=base_colour())
    plot.setObjectName(name)
    item = plot.getPlotItem()
    item.setClipToView(True)
    item.setDownsampling(auto=True, mode="peak")
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setMenuEnabled(False)
    style_axes(item)
    for side in ("left", "bottom"):
        # Else a loss of 0.7 reads "loss (x0.001)" with ticks at 700: users read the ticks.
        item.getAxis(side).enableAutoSIPrefix(False)
    item.getAxis("left").setWidth(64)  # equal widths keep x-linked plots aligned by pixel
    item.setLabel("left", left)
    item.setLabel("bottom", "epoch")
    add_legend(item, legend_offset)
    return plot


def _line(plot: pg.PlotWidget, name: str | None, colour: str, width: float = 2,
          alpha: int = 255, symbol: str | None = None) -> pg.PlotDataItem:
    line_colour = pg.mkColor(colour)
    line_colour.setAlpha(alpha)
    pen = pg.mkPen(color=line_colour, width=width)
    kwargs = dict(symbol=symbol, symbolSize=7, symbolBrush=colour, symbolPen="w") if symbol else {}
    return plot.plot([], [], pen=pen, name=name, antialias=True, **kwargs)


class HoverLabel:
    """Shows the values of the point nearest the mouse, among a plot's named curves."""

    def __init__(self, plot: pg.PlotWidget, series: list[Series], value_format: str) -> None:
        self.plot, self.series, self.value_format = plot, series, value_format
        self.marker = pg.ScatterPlotItem(size=10, pen=pg.mkPen(text_colour(), width=1.5),
                                         brush=pg.mkBrush(255, 255, 255, 0))
        self.text = pg.TextItem(anchor=(0, 1), **hover_colours())
        for item in (self.marker, self.text):
            item.setZValue(100)
            item.hide()
            plot.addItem(item, ignoreBounds=True)
        plot.scene().sigMouseMoved.connect(self.on_mouse_moved)

    def nearest(self, scene_pos: QPointF) -> tuple[Series, int] | None:
        view = self.plot.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(scene_pos):
            return None
        mouse = view.mapSceneToView(scene_pos)
        width, height = view.viewPixelSize()
        best: tuple[float, Series, int] | None = None
        for s in self.series:
            if s.n == 0 or not s.curve.isVisible():
                continue
            dx = (s.x[: s.n] - mouse.x()) / width
            dy = (s.y[: s.n] - mouse.y()) / height
            distances = dx * dx + dy * dy
            i = int(np.argmin(distances))
            if best is None or distances[i] < best[0]:
                best = (float(distances[i]), s, i)
        if best is None or best[0] > HOVER_PIXELS**2:
            return None
        return best[1], best[2]

    @Slot(object)
    def on_mouse_moved(self, scene_pos: QPointF) -> None:
        found = self.nearest(scene_pos)
        if found is None:
            self.marker.hide()
            self.text.hide()
            return
        s, i = found
        x, y = float(s.x[i]), float(s.y[i])
        self.marker.setData([x], [y])
        self.text.setText(f"{s.label}\nepoch {x:.2f}\n{self.value_format.format(y)}")
        self.text.setPos(x, y)
        self.marker.show()
        self.text.show()


class TrainingPlots(QWidget):
    """Loss (`lossPlot`), accuracy (`accuracyPlot`) and learning rate (`learningRatePlot`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = styled_plot("lossPlot", "loss", self)
        # accuracy rises towards the top right: its legend sits bottom right, out of the way
        self.accuracy_plot = styled_plot("accuracyPlot", "accuracy (%)", self,
                                         legend_offset=(-8, -8))
        self.lr_plot = styled_plot("learningRatePlot", "learning rate", self)
        self.lr_plot.getPlotItem().legend.hide()
        self.lr_plot.getPlotItem().enableAutoRange(y=False)  # from 0, see redraw()
        self.lr_plot.setMaximumHeight(150)
        self.lr_plot.setXLink(self.loss_plot)
        self.accuracy_plot.setXLink(self.loss_plot)
        self.accuracy_plot.setYRange(0, 100, padding=0.02)
        self.accuracy_plot.getPlotItem().enableAutoRange(y=False)

        lp, ap = self.loss_plot, self.accuracy_plot
        self.batch_loss = Series(_line(lp, "train loss (batch)", BLUE, 1, alpha=60),
                                 "train loss (batch)")
        self.smoothed_loss = Series(_line(lp, "train loss (smoothed)", BLUE, 2),
                                    "train loss (smoothed)")
        self.train_loss = Series(_line(lp, "train loss (epoch)", PURPLE, 2, symbol="o"),
                                 "train loss (epoch)")
        self.val_loss = Series(_line(lp, "val loss", ORANGE, 2, symbol="s"), "val loss")
        self.train_accuracy = Series(_line(ap, "train accuracy", PURPLE, 2, symbol="o"),
                                     "train accuracy")
        self.val_accuracy = Series(_line(ap, "val accuracy", GREEN, 2, symbol="s"),
                                   "val accuracy")
        # Named in the legend only once a run reports it (a labelled target folder).
        self.target_accuracy = Series(_line(ap, None, RED, 2, symbol="t"), TARGET_ACCURACY)
        self.lr = Series(_line(self.lr_plot, None, muted_text(), 1.5), "learning rate")
        self.series = [self.batch_loss, self.smoothed_loss, self.train_loss, self.val_loss,
                       self.train_accuracy, self.val_accuracy, self.target_accuracy, self.lr]
        self.hovers = [
            HoverLabel(lp, [self.batch_loss, self.smoothed_loss, self.train_loss,
                            self.val_loss], "loss {:.4g}"),
            HoverLabel(ap, [self.train_accuracy, self.val_accuracy, self.target_accuracy],
                       "accuracy {:.1f} %"),
            HoverLabel(self.lr_plot, [self.lr], "learning rate {:.3g}"),
        ]

        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(lp, 0, 0)
        layout.addWidget(self.lr_plot, 1, 0)  # under the loss, x aligned with it
        layout.addWidget(ap, 0, 1, 2, 1)
        layout.setColumnStretch(0, 1)
        layout.setColumnStretch(1, 1)

        self.batches_per_epoch = 1
        self.redraws = 0  # how often the curves were redrawn: tests check the timer's cap
        self._dirty = False
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.redraw)

    def set_head_rate(self, several_rates: bool) -> None:
        """With discriminative rates (lr_decay != 1) the stages train at lower rates than the
        new classifier; the curve is the classifier's (the engine's first parameter group), and
        says so."""
        label = "classifier lr" if several_rates else "learning rate"  # fits the short plot
        self.lr_plot.getPlotItem().setLabel("left", label)
        self.lr.label = label

    @Slot(int)
    def reset(self, batches_per_epoch: int) -> None:
        """Clear the curves for a new run with this many batches per epoch."""
        self.batches_per_epoch = max(1, int(batches_per_epoch))
        for s in self.series:
            s.clear()
        self.accuracy_plot.getPlotItem().legend.removeItem(self.target_accuracy.curve)
        self._dirty = True
        self.redraw()
        self.loss_plot.enableAutoRange()
        self.lr_plot.getPlotItem().enableAutoRange(x=True)

    @Slot(object)
    def on_batch(self, snapshot) -> None:
        """Buffer a BatchSnapshot's points; the x axis is in epochs, fractional per batch."""
        per_epoch = self.batches_per_epoch
        for step, loss in snapshot.points:
            self.batch_loss.append(step / per_epoch, loss)
        for step, loss in snapshot.smoothed_points:
            self.smoothed_loss.append(step / per_epoch, loss)
        if snapshot.points:
            self.lr.append(snapshot.points[-1][0] / per_epoch, snapshot.lr)
        self._changed()

    @Slot(object)
    def on_epoch(self, event: EpochEnded) -> None:
        self.train_loss.append(event.epoch, event.train_loss)
        self.train_accuracy.append(event.epoch, 100 * event.train_accuracy)
        if event.val_accuracy is not None:  # None: trained on all images, none held out
            self.val_loss.append(event.epoch, event.val_loss)
            self.val_accuracy.append(event.epoch, 100 * event.val_accuracy)
        if event.target_accuracy is not None:
            if self.target_accuracy.n == 0:
                self.accuracy_plot.getPlotItem().legend.addItem(self.target_accuracy.curve,
                                                                TARGET_ACCURACY)
            self.target_accuracy.append(event.epoch, 100 * event.target_accuracy)
        self._changed()

    def _changed(self) -> None:
        self._dirty = True
        if not self.timer.isActive():
            self.timer.start()

    @Slot()
    def redraw(self) -> None:
        if not self._dirty:
            self.timer.stop()  # nothing new: idle until the next point arrives
            return
        self._dirty = False
        for s in self.series:
            s.draw()
        if self.lr.n:  # a constant rate would otherwise get a degenerate autorange
            self.lr_plot.setYRange(0, 1.15 * float(self.lr.y[: self.lr.n].max()), padding=0)
        self.redraws += 1
