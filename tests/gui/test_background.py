"""The window's one pattern for background work: a new job cancels and disconnects the one in
flight, errors arrive as the exception raised, progress and partial results as signals."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThreadPool, Slot

from tlstudio.errors import DatasetError
from tlstudio.gui.shared.background import (
    PROGRESS_STEPS,
    BackgroundJob,
    TaskState,
    error_message,
    jobs_in_flight,
)

WAIT = 10_000


class Heard(QObject):
    """Everything a BackgroundJob says, in order, as a widget in the GUI thread hears it."""

    def __init__(self, job: BackgroundJob) -> None:
        super().__init__()
        self.job = job
        self.events: list[tuple] = []
        job.progress.connect(self.on_progress)
        job.yielded.connect(self.on_yielded)
        job.returned.connect(self.on_returned)
        job.errored.connect(self.on_errored)
        job.finished.connect(self.on_finished)

    @Slot(int, int)
    def on_progress(self, done: int, total: int) -> None:
        self.events.append(("progress", done, total))

    @Slot(object)
    def on_yielded(self, value: object) -> None:
        self.events.append(("yielded", value))

    @Slot(object)
    def on_returned(self, value: object) -> None:
        self.events.append(("returned", value, self.job.is_running()))

    @Slot(object)
    def on_errored(self, error: object) -> None:
        self.events.append(("errored", error, self.job.is_running()))

    @Slot()
    def on_finished(self) -> None:
        self.events.append(("finished",))


def wait_until_all_jobs_end(qtbot) -> None:
    qtbot.waitUntil(lambda: not jobs_in_flight(), timeout=WAIT)


def test_a_new_job_cancels_the_one_in_flight_and_only_its_result_arrives(qtbot) -> None:
    job = BackgroundJob()
    heard = Heard(job)
    release = threading.Event()
    seen_cancel: list[bool] = []

    def slow(state: TaskState, value: str) -> str:
        release.wait(WAIT / 1000)
        seen_cancel.append(state.cancelled())
        state.progress(1, 1)
        state.yield_("partial " + value)
        return value

    def quick(state: TaskState, value: str) -> str:
        return value

    job.start(slow, "old")
    with qtbot.waitSignal(job.finished, timeout=WAIT):
        job.start(quick, "new")
    release.set()
    wait_until_all_jobs_end(qtbot)  # the old job has ended and said all it could
    assert heard.events == [("returned", "new", False), ("finished",)]
    assert seen_cancel == [True]  # the old job could see it was cancelled and stop early
    assert not job.is_running()


def test_an_error_arrives_as_the_exception_raised_then_finished(qtbot) -> None:
    job = BackgroundJob()
    heard = Heard(job)

    def broken(state: TaskState) -> None:
        state.progress(1, 3)
        raise DatasetError("Class 'cats' has no readable images")

    with qtbot.waitSignal(job.finished, timeout=WAIT):
        job.start(broken)
    (progress, errored, finished) = heard.events
    assert progress == ("progress", 1, 3) and finished == ("finished",)
    kind, error, running = errored
    assert kind == "errored" and isinstance(error, DatasetError) and not running
    assert error_message(error) == "Class 'cats' has no readable images"
    assert error_message(ZeroDivisionError("x")) == "Unexpected error: ZeroDivisionError: x"


def test_partial_results_arrive_in_order_and_cancel_silences_the_job(qtbot) -> None:
    job = BackgroundJob()
    heard = Heard(job)
    go_on = threading.Event()

    def counting(state: TaskState, n: int) -> int:
        for i in range(n):
            state.yield_(i)
        go_on.wait(WAIT / 1000)
        state.yield_("after cancel")
        return n

    job.start(counting, 3)
    qtbot.waitUntil(lambda: len(heard.events) == 3, timeout=WAIT)
    assert heard.events == [("yielded", 0), ("yielded", 1), ("yielded", 2)]
    job.cancel()
    assert not job.is_running()
    go_on.set()
    wait_until_all_jobs_end(qtbot)
    assert heard.events == [("yielded", 0), ("yielded", 1), ("yielded", 2)]


def test_a_job_outlives_its_owner_without_harm(qtbot) -> None:
    """Closing a panel mid-job: the job ends in the pool, nobody hears it, nothing crashes."""
    owner = QObject()
    job = BackgroundJob(owner)
    release = threading.Event()
    job.start(lambda state: release.wait(WAIT / 1000))
    with qtbot.waitSignal(owner.destroyed, timeout=WAIT):
        owner.deleteLater()
    release.set()
    wait_until_all_jobs_end(qtbot)


def test_progress_is_sent_only_when_the_bar_would_move(qtbot) -> None:
    job = BackgroundJob()
    heard = Heard(job)

    def scan(state: TaskState, files: int) -> int:
        for done in range(files + 1):
            state.progress(done, files)
        return files

    with qtbot.waitSignal(job.finished, timeout=WAIT):
        job.start(scan, 100_000)
    reports = [e[1:] for e in heard.events if e[0] == "progress"]
    assert len(reports) == PROGRESS_STEPS + 1  # 0.0 %, 0.1 %, ... 100 %
    assert reports[0] == (0, 100_000) and reports[-1] == (100_000, 100_000)
    assert reports == sorted(reports)


def test_on_a_one_cpu_machine_a_stuck_job_holds_up_no_other(qtbot) -> None:
    """Qt sizes its pool by the CPUs (one thread under `taskset -c 0`): a long job (or a
    cancelled one not yet at its next check) must not keep another widget's job waiting."""
    pool = QThreadPool.globalInstance()
    before = pool.maxThreadCount()
    pool.setMaxThreadCount(1)  # what Qt gives a 1-CPU machine
    stuck, other = BackgroundJob(), BackgroundJob()
    release = threading.Event()
    stuck.start(lambda state: release.wait(WAIT / 1000))
    with qtbot.waitSignal(other.returned, timeout=WAIT // 2) as returned:
        other.start(lambda state: "other's result")
    release.set()
    wait_until_all_jobs_end(qtbot)
    pool.setMaxThreadCount(before)
    assert returned.args == ["other's result"]
