"""Background jobs for the window (folder scans, thumbnails, downloads, exports, evaluations).

A job is a plain function taking a TaskState (Orange's rule), so it is tested without a
widget. A widget owns one `BackgroundJob` per kind of work and connects its signals once;
`start` cancels the previous job and disconnects it (Orange's ConcurrentMixin), so no slot
ever asks whether what it receives is stale. Training has its own controller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

from tlstudio.errors import Cancelled, TlstudioError
from tlstudio.failures import FrontEnd, describe_failure, save_details

PROGRESS_STEPS = 1000  # a progress bar's resolution: finer reports are not sent
# Qt sizes its pool by the CPUs: one thread on a 1-CPU machine (or under `taskset`), where a
# cancelled job still holding it until its next check would hold up every other widget's job.
MIN_POOL_THREADS = 4
_RUNNING: set[_Job] = set()  # jobs still in the pool, alive until they have said `finished`


class TaskState:
    """What a job sees: report progress, hand back partial results, check for cancel.

    Thread-safe; after `cancel()` nothing more is sent."""

    def __init__(self, send: Callable[[str, object], None]) -> None:
        self._send = send
        self._cancel = threading.Event()
        self._shown_step: int | None = None  # the last progress sent, in PROGRESS_STEPS

    def progress(self, done: int, total: int) -> None:
        """Sent only when the bar would move (Orange's rule): a scan of 100,000 files makes
        at most PROGRESS_STEPS signals, the last one always."""
        step = PROGRESS_STEPS * done // total if total > 0 else done
        if self._cancel.is_set() or step == self._shown_step and done != total:
            return
        self._shown_step = step
        self._send("progress", (int(done), int(total)))

    def yield_(self, value: Any) -> None:
        if not self._cancel.is_set():
            self._send("yielded", value)

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()


def error_message(error: BaseException) -> str:
    """A job's exception in the window's words (`describe_failure`): a domain error with its
    remedies, anything else named as unexpected with where its traceback was saved."""
    return describe_failure(error, FrontEnd.WINDOW,
                            details=getattr(error, "tlstudio_details", None))


class _Job(QObject):
    """One run of a job function. It lives in the GUI thread: what the pool thread sends
    arrives queued in `_deliver`, which forwards it unless the job was cancelled meanwhile."""

    progress = Signal(int, int)
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    _sent = Signal(str, object)  # (kind, value), emitted in the pool thread

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__()  # no parent: alive until it has finished, whatever its owner does
        self._fn, self._args = fn, args
        self.state = TaskState(self._sent.emit)
        self._sent.connect(self._deliver)  # queued: the sender is in another thread

    def run(self) -> None:
        """In the pool thread: call the function, send what came of it."""
        try:
            result = self._fn(self.state, *self._args)
        except Exception as e:  # noqa: BLE001 - a job's crash becomes a message, not a dead app
            if not isinstance(e, TlstudioError) and not self.state.cancelled():
                e.tlstudio_details = save_details(e)  # the message says where the traceback is
            self._sent.emit("errored", e)
        else:
            self._sent.emit("returned", result)
        self._sent.emit("done", None)

    @Slot(str, object)
    def _deliver(self, kind: str, value: object) -> None:
        if kind == "done":
            _RUNNING.discard(self)
            self._fn = self._args = None  # let go of the job's inputs now
            return
        if self.state.cancelled():
            return
        if kind == "progress":
            self.progress.emit(*value)  # type: ignore[misc]
            return
        getattr(self, kind).emit(value)


class BackgroundJob(QObject):
    """One kind of background work of a widget, one job at a time.

    `start` cancels the job in flight, if any: it is disconnected, so nothing it still sends
    reaches these signals. `errored` carries the exception the job raised. When `returned` or
    `errored` arrives, `is_running()` is already False; `finished` follows them unless their
    slots started another job. A cancelled job is never heard from again."""

    progress = Signal(int, int)  # done, total
    yielded = Signal(object)  # a partial result (`TaskState.yield_`)
    returned = Signal(object)  # the function's result
    errored = Signal(object)  # the exception it raised (`error_message` words it)
    finished = Signal()  # the job is over: `is_running()` is False again

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job: _Job | None = None

    def start(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(state, *args)` on the thread pool, instead of the job in flight."""
        self.cancel()
        self._job = job = _Job(fn, args)
        job.progress.connect(self.progress)
        job.yielded.connect(self.yielded)
        job.returned.connect(self._on_returned)
        job.errored.connect(self._on_errored)
        _RUNNING.add(job)
        _pool().start(job.run)

    def cancel(self) -> None:
        """Cancel the job in flight: it stops at its next check and is heard from no more."""
        job, self._job = self._job, None
        if job is None:
            return
        job.state.cancel()
        job.progress.disconnect(self.progress)
        job.yielded.disconnect(self.yielded)
        job.returned.disconnect(self._on_returned)
        job.errored.disconnect(self._on_errored)

    def is_running(self) -> bool:
        return self._job is not None

    @Slot(object)
    def _on_returned(self, result: object) -> None:
        self.cancel()  # disconnects the job, which has nothing more to say
        self.returned.emit(result)
        self._finish()

    @Slot(object)
    def _on_errored(self, error: object) -> None:
        self.cancel()
        if not isinstance(error, Cancelled):  # stopping on request is no failure
            self.errored.emit(error)
        self._finish()

    def _finish(self) -> None:
        if self._job is None:  # the slots above may have started the next job already
            self.finished.emit()


def _pool() -> QThreadPool:
    pool = QThreadPool.globalInstance()
    if pool.maxThreadCount() < MIN_POOL_THREADS:
        pool.setMaxThreadCount(MIN_POOL_THREADS)
    return pool


def jobs_in_flight() -> int:
    """Jobs started and not yet over, cancelled ones included: each counts until its last
    word has been delivered in the GUI thread (tests wait on this to see a cancelled job end)."""
    return len(_RUNNING)


def wait_for_background_tasks(timeout_ms: int = 10_000) -> bool:
    """Block until every pool job has returned (window close, test teardown)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
