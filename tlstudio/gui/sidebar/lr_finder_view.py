"""The LR finder in the window: runs the core's `lr_find` in a background task, plots loss
against learning rate (log axis) with the suggestion marked, and applies it with one click.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from tlstudio.errors import TlstudioError
from tlstudio.failures import FrontEnd, describe_failure
from tlstudio.gui.shared.background import BackgroundJob, TaskState, error_message
from tlstudio.gui.shared.palette_colours import base_colour
from tlstudio.gui.shared.plot_style import style_axes
from tlstudio.gui.training.worker import PhaseThrottle
from tlstudio.recipe import Recipe
from tlstudio.training import PhaseProgress, RunControl
from tlstudio.training.lr_finder import lr_find

STEPS = 100


def lr_find_job(state: TaskState, recipe: Recipe, control: RunControl, steps: int):
    """The range test; progress per step, stopped through `control` (the Stop button)."""
    # Only when the rounded percent changes, as the training worker does.
    phases = PhaseThrottle(lambda e: state.yield_((e.phase, e.done, e.total)))

    def emit(event: object) -> None:
        if isinstance(event, PhaseProgress):
            phases.add(event)

    return lr_find(recipe, control=control, emit=emit, steps=steps)


class LRFinderView(QWidget):
    """"Find learning rate", the loss-vs-lr plot, and "Use suggested"."""

    finished = Signal(object)  # LRFinderResult, or None after a failure; the view is idle
    failed = Signal(str)

    def __init__(self, recipe_fn: Callable[[], Recipe], lr_spin: QDoubleSpinBox,
                 parent: QWidget | None = None) -> None:
        """`recipe_fn()` gives the window's recipe (may raise RecipeError); `lr_spin` is set."""
        super().__init__(parent, objectName="lrFinder")
        self._recipe_fn, self._lr_spin = recipe_fn, lr_spin
        self._job = BackgroundJob(self)
        self._job.yielded.connect(self._progress)
        self._job.returned.connect(self._found)
        self._job.errored.connect(self._errored)
        self._job.finished.connect(self._done)
        self._control: RunControl | None = None
        self.result = None
        self.find_button = QPushButton("Find learning rate", objectName="lrFinderButton")
        self.find_button.setToolTip("Train briefly with a rising lr (nothing is saved) and "
                                    "suggest the lr where the loss falls fastest")
        self.stop_button = QPushButton("Stop", objectName="stopLrButton", enabled=False)
        self.stop_button.setToolTip("Stop the learning-rate finder (possible while it runs)")
        self.use_button = QPushButton("Use suggested", objectName="useSuggestedLrButton",
                                      enabled=False)
        self.use_button.setToolTip("Put the suggested learning rate into the Learning rate "
                                   "field (possible once the finder has suggested one)")
        self.status = QLabel("", objectName="lrFinderStatus", wordWrap=True)
        self.plot = pg.PlotWidget(objectName="lrFinderPlot", background=base_colour())
        self.plot.setLogMode(x=True, y=False)
        style_axes(self.plot.getPlotItem())
        self.plot.setLabel("bottom", "learning rate")
        self.plot.setLabel("left", "loss")
        self.plot.setFixedHeight(170)
        self.plot.setMouseEnabled(x=False, y=False)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#2f6fb0", width=2))
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#d9534f", width=1.5,
                                                             style=pg.QtCore.Qt.DashLine))
        self.marker.hide()
        self.plot.addItem(self.marker)
        self.plot.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.find_button, 2)
        buttons.addWidget(self.stop_button, 1)
        buttons.addWidget(self.use_button, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.plot)
        # clicked(bool) would arrive as `steps`: the click goes through a slot of its own
        self.find_button.clicked.connect(self._find_clicked)
        self.stop_button.clicked.connect(self.stop)
        self.use_button.clicked.connect(self.use_suggested)

    def _find_clicked(self) -> None:
        self.start()

    def is_running(self) -> bool:
        return self._job.is_running()

    def start(self, steps: int = STEPS) -> bool:
        if self.is_running():
            return False
        try:
            recipe = self._recipe_fn()
        except TlstudioError as e:
            self.status.setText(describe_failure(e, FrontEnd.WINDOW))
            self.failed.emit(describe_failure(e, FrontEnd.WINDOW))
            return False
        self._control = RunControl()
        self.result = None
        self._job.start(lr_find_job, recipe, self._control, int(steps))
        self.status.setText("Finding the learning rate…")
        self.find_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.use_button.setEnabled(False)
        return True

    def stop(self) -> None:
        if self._control is not None:
            self._control.stop()
            self.status.setText("Stopping…")

    def cancel(self) -> None:
        """Stop without showing anything more (window closing)."""
        self.stop()
        self._job.cancel()

    def use_suggested(self) -> None:
        if self.result is None or not self.result.suggested_lr:
            return
        suggested = self.result.suggested_lr
        self._lr_spin.setValue(suggested)
        note = (f" (the most this box takes; the finder suggested {suggested:.2g})"
                if suggested > self._lr_spin.maximum() else "")
        self.status.setText(f"Learning rate set to {self._lr_spin.value():g}{note}")

    def _progress(self, phase_done_total: tuple[str, int, int]) -> None:
        phase, done, total = phase_done_total
        if not self._control or not self._control.stopped:
            self.status.setText(f"{phase.capitalize()}: {done} of {total}")

    def _found(self, result) -> None:
        self.result = result
        self._show(result)

    def _show(self, result) -> None:
        points = [(lr, loss) for lr, loss in zip(result.lrs, result.losses, strict=False)
                  if lr > 0 and math.isfinite(loss)]
        self.plot.show()
        self.curve.setData([p[0] for p in points], [p[1] for p in points])
        if result.suggested_lr:
            self.marker.setValue(math.log10(result.suggested_lr))  # log-mode x is log10
            self.marker.show()
            self.status.setText(f"Suggested learning rate: {result.suggested_lr:.2g}")
        else:
            self.marker.hide()
            self.status.setText("No clear suggestion: the loss did not fall steadily")
        self.use_button.setEnabled(bool(result.suggested_lr))

    def _errored(self, error: Exception) -> None:
        message = error_message(error)
        self.status.setText(message)
        self.failed.emit(message)

    def _done(self) -> None:
        self._control = None
        self.find_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.finished.emit(self.result)  # last: the view is idle again when it arrives
