"""Short background jobs for the panels (folder scans, thumbnails, downloads, exports).

A job is a plain function taking a TaskState; its results come back to the GUI thread as
signals (Orange's TaskState, napari's worker signals). Training has its own controller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from tlstudio.errors import Cancelled, TlstudioError
from tlstudio.failures import FrontEnd, describe_failure, save_details


class TaskState:
    """What a job sees: report progress, hand back partial results, check for cancel."""

    def __init__(self, signals: TaskSignals) -> None:
        self._signals = signals
        self._cancel = threading.Event()

    def progress(self, done: int, total: int) -> None:
        if not self._cancel.is_set():
            self._signals.progress.emit(int(done), int(total))

    def yield_(self, value: Any) -> None:
        if not self._cancel.is_set():
            self._signals.yielded.emit(value)

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()


class TaskSignals(QObject):
    progress = Signal(int, int)
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(str)  # a message for the user
    done = Signal()  # after returned or errored, also when cancelled


class BackgroundTask(QRunnable):
    """Runs ``fn(state, *args)`` on the global thread pool; see TaskSignals."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it: the owner keeps it until `done`
        self.signals = TaskSignals()
        self.state = TaskState(self.signals)
        self._fn, self._args = fn, args

    def run(self) -> None:
        try:
            result = self._fn(self.state, *self._args)
        except Exception as e:  # noqa: BLE001 - a job's crash becomes a message, not a dead app
            details = None if isinstance(e, TlstudioError) else save_details(e)
            if not (self.state.cancelled() or isinstance(e, Cancelled)):  # stopping is no failure
                self.signals.errored.emit(describe_failure(e, FrontEnd.WINDOW, details=details))
        else:
            if not self.state.cancelled():
                self.signals.returned.emit(result)
        self.signals.done.emit()

    def cancel(self) -> None:
        self.state.cancel()


class TaskRunner(QObject):
    """Keeps the tasks of one owner alive until they finish, and cancels them on request."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: list[BackgroundTask] = []

    def start(self, task: BackgroundTask) -> BackgroundTask:
        self._tasks.append(task)
        task.signals.done.connect(self._forget)
        QThreadPool.globalInstance().start(task)
        return task

    def _forget(self) -> None:
        sender = self.sender()
        self._tasks = [t for t in self._tasks if t.signals is not sender]

    def cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()

    def busy(self) -> bool:
        return bool(self._tasks)


def wait_for_background_tasks(timeout_ms: int = 10_000) -> bool:
    """Block until every pool job has returned (window close, test teardown)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
