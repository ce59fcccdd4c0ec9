"""The live plots: data lands in the curves, redraws are coalesced by the timer, hover works."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from tlstudio.gui.training.plots import REDRAW_MS, TrainingPlots
from tlstudio.gui.training.worker import BatchSnapshot
from tlstudio.training import EpochEnded

BATCHES = 10


def data(series) -> tuple[np.ndarray, np.ndarray]:
    """All points a curve holds (getData() would return only those clipped to the view)."""
    x, y = series.curve.getOriginalDataset()
    return (np.array([]), np.array([])) if x is None else (x, y)


def snapshot(step: int, loss: float) -> BatchSnapshot:
    epoch, batch = divmod(step - 1, BATCHES)
    return BatchSnapshot(epoch + 1, batch + 1, BATCHES, loss, loss, 1e-3, 100.0, 1.0,
                         ((step, loss),), ((step, loss * 0.5),))


@pytest.fixture
def plots(qtbot) -> TrainingPlots:
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    widget.reset(BATCHES)
    widget.redraws = 0  # count only what the tests feed
    return widget


def test_curves_hold_batches_and_epochs_in_epoch_units(qtbot, plots):
    for step in range(1, 21):
        plots.on_batch(snapshot(step, 1.0 / step))
    plots.on_epoch(EpochEnded(1, 2, 0.8, 0.5, 0.9, 0.4, 1e-3, 1.0))
    plots.on_epoch(EpochEnded(2, 2, 0.6, 0.7, 0.7, 0.6, 1e-3, 1.0))
    qtbot.waitUntil(lambda: plots.redraws >= 1, timeout=2_000)

    x, y = data(plots.batch_loss)
    np.testing.assert_allclose(x, np.arange(1, 21) / BATCHES)
    np.testing.assert_allclose(y, 1.0 / np.arange(1, 21))
    np.testing.assert_allclose(data(plots.smoothed_loss)[1], 0.5 / np.arange(1, 21))
    np.testing.assert_allclose(data(plots.val_loss)[1], [0.9, 0.7])
    np.testing.assert_allclose(data(plots.val_accuracy)[0], [1, 2])
    np.testing.assert_allclose(data(plots.val_accuracy)[1], [40, 60])
    np.testing.assert_allclose(data(plots.train_accuracy)[1], [50, 70])
    assert data(plots.lr)[1][-1] == pytest.approx(1e-3)
    assert plots.findChild(type(plots.loss_plot), "lossPlot") is plots.loss_plot
    assert plots.findChild(type(plots.loss_plot), "accuracyPlot") is plots.accuracy_plot


def test_a_burst_of_batches_is_one_redraw(qtbot, plots):
    for step in range(1, 5001):
        plots.on_batch(snapshot(step, 1.0))
    assert plots.redraws == 0  # slots only buffer
    qtbot.waitUntil(lambda: plots.redraws >= 1, timeout=2_000)
    assert plots.redraws == 1
    assert len(data(plots.batch_loss)[0]) == 5000
    assert plots.timer.interval() >= REDRAW_MS >= 50  # at most 20 redraws a second
    qtbot.waitUntil(lambda: not plots.timer.isActive(), timeout=2_000)  # idle when nothing new
    assert plots.redraws == 1


def test_reset_clears_every_curve(qtbot, plots):
    plots.on_batch(snapshot(1, 1.0))
    plots.on_epoch(EpochEnded(1, 1, 0.8, 0.5, 0.9, 0.4, 1e-3, 1.0))
    plots.reset(BATCHES)
    assert all(len(data(s)[0]) == 0 for s in plots.series)


def test_hovering_near_a_point_shows_its_values(qtbot, plots):
    plots.on_epoch(EpochEnded(1, 2, 0.8, 0.5, 0.9, 0.4, 1e-3, 1.0))
    plots.on_epoch(EpochEnded(2, 2, 0.6, 0.7, 0.7, 0.6, 1e-3, 1.0))
    qtbot.waitUntil(lambda: plots.redraws >= 1, timeout=2_000)
    plots.accuracy_plot.setXRange(0, 2.2, padding=0)  # as autorange would on the next paint
    view = plots.accuracy_plot.getPlotItem().getViewBox()
    hover = plots.hovers[1]

    hover.on_mouse_moved(view.mapViewToScene(QPointF(2.0, 61.0)))
    assert hover.text.isVisible()
    assert hover.text.textItem.toPlainText() == "val accuracy\nepoch 2.00\naccuracy 60.0 %"

    hover.on_mouse_moved(view.mapViewToScene(QPointF(0.2, 5.0)))  # far from every point
    assert not hover.text.isVisible()


def test_small_losses_are_labelled_in_plain_units(qtbot, plots):
    """A loss near 0.7 must read 0.7 on the axis, not "loss (x0.001)" with ticks at 700."""
    for step in range(1, 21):
        plots.on_batch(snapshot(step, 0.7 + 0.05 * np.sin(step)))
    plots.on_epoch(EpochEnded(1, 2, 0.72, 0.5, 0.75, 0.4, 1e-3, 1.0))
    plots.on_epoch(EpochEnded(2, 2, 0.70, 0.6, 0.74, 0.5, 1e-3, 1.0))
    qtbot.waitUntil(lambda: plots.redraws >= 1, timeout=2_000)
    plots.loss_plot.getPlotItem().getViewBox().autoRange()
    for plot in (plots.loss_plot, plots.accuracy_plot, plots.lr_plot):
        label = plot.getAxis("left").labelString()
        assert "x0.001" not in label and "(x" not in label, label
