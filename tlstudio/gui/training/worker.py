"""Training off the GUI thread: a QThread worker that runs the engine's `fit` and turns its
events into throttled signals, and the controller the window talks to (start/pause/stop).

Wiring follows superqt's `_qthreading`: the worker is moved to its own QThread, stop and
pause are the engine's RunControl flags, and the thread is always joined, never terminated.
"""

from __future__ import annotations

import statistics
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import torch
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, Signal, Slot

from tlstudio.devices import default_threads, resolve_device
from tlstudio.errors import TlstudioError
from tlstudio.failures import FrontEnd, describe_failure, with_remedies
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder
from tlstudio.training import (
    BatchEnded,
    EpochEnded,
    Event,
    FitStarted,
    FoldEnded,
    LogMessage,
    PhaseProgress,
    RunControl,
    RunResult,
    cross_validate,
    fit,
)

MAX_EMISSIONS_PER_SECOND = 25  # batch snapshots; the plots redraw at 20 Hz anyway
SMOOTHING = 0.9  # EMA factor for the loss (fastai's SmoothenValue uses 0.98 on longer runs)
RATE_WINDOW = 30  # batches whose median duration gives images/s and the ETA


@dataclass(frozen=True)
class BatchSnapshot:
    """Training progress since the previous snapshot, for the progress bar and the plots."""

    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    batches: int  # batches per epoch
    loss: float  # loss of the last batch
    smoothed_loss: float  # exponential moving average of the batch loss (bias-corrected)
    lr: float
    images_per_second: float
    eta_seconds: float | None  # training time left, None until a rate is known
    points: tuple[tuple[int, float], ...]  # (global step, loss) of every batch since last time
    smoothed_points: tuple[tuple[int, float], ...]  # (global step, smoothed loss), same steps
    gpu_memory_mb: float = 0.0  # GPU memory in use at the last batch (0 off CUDA)


class BatchThrottle:
    """Aggregates BatchEnded events into at most ~25 BatchSnapshots a second.

    Qt-free so it can be tested with a fake clock; the last batch of an epoch always passes,
    and `flush()` hands over whatever is pending (a pause, a stop, the end of the run).
    """

    def __init__(self, emit: Callable[[BatchSnapshot], None],
                 clock: Callable[[], float] = time.monotonic,
                 interval: float = 1.0 / MAX_EMISSIONS_PER_SECOND) -> None:
        self._emit, self._clock, self._interval = emit, clock, interval
        self.epochs = 1
        self._pending: list[tuple[int, float, float]] = []
        self._last: BatchEnded | None = None
        self._last_emit = -float("inf")
        self._ema, self._count = 0.0, 0
        self._durations: deque[tuple[float, int]] = deque(maxlen=RATE_WINDOW)
        self._epoch_seconds = 0.0

    def start(self, epochs: int) -> None:
        self.epochs = max(1, epochs)

    def add(self, event: BatchEnded) -> None:
        self._count += 1
        self._ema = SMOOTHING * self._ema + (1 - SMOOTHING) * event.loss
        smoothed = self._ema / (1 - SMOOTHING**self._count)
        step = (event.epoch - 1) * event.batches + event.batch
        self._pending.append((step, event.loss, smoothed))
        if event.batch == 1:
            self._epoch_seconds = 0.0
        self._durations.append((event.seconds - self._epoch_seconds, event.images))
        self._epoch_seconds = event.seconds
        self._last = event
        now = self._clock()
        if event.batch == event.batches or now - self._last_emit >= self._interval:
            self._last_emit = now
            self.flush()

    def flush(self) -> None:
        if not self._pending or self._last is None:
            return
        e, pending = self._last, self._pending
        self._pending = []
        seconds = statistics.median(d for d, _ in self._durations)
        images = statistics.median(n for _, n in self._durations)
        rate = images / seconds if seconds > 0 else 0.0
        left = (self.epochs - e.epoch) * e.batches + (e.batches - e.batch)
        eta = left * seconds if seconds > 0 else None
        self._emit(BatchSnapshot(
            e.epoch, e.batch, e.batches, e.loss, pending[-1][2], e.lr, rate, eta,
            tuple((s, loss) for s, loss, _ in pending),
            tuple((s, smooth) for s, _, smooth in pending), e.gpu_memory_mb,
        ))


class PhaseThrottle:
    """Passes a PhaseProgress on only when its rounded percent changes (Orange's rule)."""

    def __init__(self, emit: Callable[[PhaseProgress], None]) -> None:
        self._emit = emit
        self._last: tuple[str, int] | None = None

    def add(self, event: PhaseProgress) -> None:
        percent = round(100 * event.done / event.total) if event.total > 0 else -1
        if (event.phase, percent) != self._last:
            self._last = (event.phase, percent)
            self._emit(event)


def train_recipe(recipe: Recipe, callbacks=(), control: RunControl | None = None,
                 resume: bool = False) -> RunResult:
    """What Train does with a recipe: `fit`, or with `folds` its cross-validation (one fit per
    fold into RUN/folds/N; the result names the whole run folder, with no epochs of its own)."""
    if not recipe.folds or resume:
        return fit(recipe, callbacks=callbacks, control=control, resume=resume)
    result = cross_validate(recipe, callbacks=callbacks, control=control)
    classes = tuple(RunFolder.at(result.run_dir).read_metrics().get("classes", ()))
    return RunResult(result.run_dir, classes, (), result.stopped)


def leave_core_to_gui(recipe: Recipe) -> tuple[Recipe, str | None]:
    """The recipe with `threads` set for a CPU run that did not choose it, and why, or as is."""
    if recipe.threads is not None or resolve_device(recipe.device).type != "cpu":
        return recipe, None
    threads = default_threads(leave_one_core=True)
    note = (f"Training on CPU with {threads} thread(s), leaving one core to the window "
            "(set threads in the recipe to change this)")
    return recipe.replace(threads=threads), note


class TrainingWorker(QObject):
    """Runs one `fit` in its QThread; talks to the GUI only through these signals."""

    fitStarted = Signal(object)  # FitStarted
    phaseProgress = Signal(object)  # PhaseProgress
    batchProgress = Signal(object)  # BatchSnapshot
    epochEnded = Signal(object)  # EpochEnded
    foldEnded = Signal(object)  # FoldEnded: a cross-validation fold (or a compared strategy's)
    log = Signal(str, str)  # text, level: "info", "warning" or "error"
    failed = Signal(str)  # a message for the user
    finished = Signal(object)  # RunResult, or None after a failure

    def __init__(self, recipe: Recipe, control: RunControl,
                 fit_fn: Callable[..., RunResult] = train_recipe, resume: bool = False) -> None:
        super().__init__()
        self._recipe, self._control, self._fit = recipe, control, fit_fn
        self._resume = resume  # continue from the run folder's checkpoint.pt
        self._batches = BatchThrottle(self.batchProgress.emit)
        self._phases = PhaseThrottle(self.phaseProgress.emit)

    @Slot()
    def run(self) -> None:
        threads = torch.get_num_threads()
        result = None
        try:
            recipe, note = leave_core_to_gui(self._recipe)
            if note:
                self.log.emit(note, "info")
            more = {"resume": True} if self._resume else {}
            result = self._fit(recipe, callbacks=[self._on_event], control=self._control,
                               **more)
        except BaseException as e:  # noqa: BLE001 - a crash is a message, never a dead app
            if not isinstance(e, TlstudioError):
                self.log.emit(traceback.format_exc(), "error")
            self.failed.emit(describe_failure(e, FrontEnd.WINDOW, "Training failed",
                                              details="the training log"))
        finally:
            self._batches.flush()
            torch.set_num_threads(threads)  # fit sets it process-wide; the next run decides anew
            self.finished.emit(result)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, BatchEnded):
            self._batches.add(event)
            if self._control.paused or self._control.stopped:
                self._batches.flush()  # show everything up to the pause, not 40 ms less
        elif isinstance(event, PhaseProgress):
            self._phases.add(event)
        elif isinstance(event, EpochEnded):
            self._batches.flush()
            self.epochEnded.emit(event)
        elif isinstance(event, FitStarted):
            self._batches.start(event.epochs)
            self.fitStarted.emit(event)
        elif isinstance(event, FoldEnded):
            self.foldEnded.emit(event)
        elif isinstance(event, LogMessage):
            self.log.emit(with_remedies(event.text, event.remedies, FrontEnd.WINDOW), event.level)


class TrainingController(QObject):
    """Lives in the GUI thread; owns at most one training thread and relays its signals.

    Every signal is delivered in the GUI thread (queued connections from the worker).
    """

    fitStarted = Signal(object)  # FitStarted
    phaseProgress = Signal(object)  # PhaseProgress, only when its percent changes
    batchProgress = Signal(object)  # BatchSnapshot, at most ~25 a second
    epochEnded = Signal(object)  # EpochEnded
    foldEnded = Signal(object)  # FoldEnded
    log = Signal(str, str)  # text, level
    failed = Signal(str)  # a readable message; `finished(None)` follows
    finished = Signal(object)  # RunResult, or None after a failure; the thread has ended
    pausedChanged = Signal(bool)  # the run was paused (True) or resumed (False)

    def __init__(self, parent: QObject | None = None,
                 fit_fn: Callable[..., RunResult] = train_recipe) -> None:
        super().__init__(parent)
        self._fit = fit_fn  # tests swap in a fake engine
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._control: RunControl | None = None

    def is_running(self) -> bool:
        return self._thread is not None

    def is_paused(self) -> bool:
        return self._control is not None and self._control.paused

    def start(self, recipe: Recipe, resume: bool = False) -> None:
        """Train `recipe`; with `resume`, continue its out_dir's run from the last checkpoint."""
        if self.is_running():
            raise RuntimeError("A training run is already in progress")
        self._control = RunControl()
        self._worker = worker = TrainingWorker(recipe, self._control, self._fit, resume)
        self._thread = thread = QThread()
        thread.setObjectName("tlstudio-training")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.finished.connect(thread.quit)
        worker.finished.connect(worker.deleteLater)
        thread.finished.connect(thread.deleteLater)
        for name in ("fitStarted", "phaseProgress", "batchProgress", "epochEnded", "foldEnded",
                     "log", "failed"):
            getattr(worker, name).connect(getattr(self, name))
        worker.finished.connect(self._on_worker_finished)
        thread.start()

    def pause(self) -> None:
        if self._control is not None and not self._control.paused:
            self._control.pause()
            self.pausedChanged.emit(True)

    def resume(self) -> None:
        if self._control is not None and self._control.paused:
            self._control.resume()
            self.pausedChanged.emit(False)

    def stop(self) -> None:
        """Ask the run to stop after the current batch; `finished` comes when it has."""
        if self._control is not None:
            self._control.stop()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop and join the training thread (window close); False if it did not end in time."""
        thread = self._thread
        if thread is None:
            return True
        self.stop()
        thread.quit()  # takes effect once the worker returns; quit is thread-safe
        if not thread.wait(timeout_ms):
            return False
        # What the finished run still had queued for us would land on the next run's watchers.
        QCoreApplication.removePostedEvents(self, QEvent.Type.MetaCall)
        self._forget()
        return True

    @Slot(object)
    def _on_worker_finished(self, result: RunResult | None) -> None:
        thread = self._thread
        if thread is None:  # already joined by shutdown()
            return
        thread.quit()  # the queued quit from the worker would only arrive after wait()
        thread.wait()
        self._forget()
        self.finished.emit(result)

    def _forget(self) -> None:
        self._thread = self._worker = self._control = None
