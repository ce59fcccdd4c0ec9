"""The training controller: a real tiny run in its QThread, stop, pause, errors, throttling,
and a flood of cross-thread signals. Tests wait on signals, never on sleeps."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QObject, QThread, Signal, Slot

from tlstudio import devices
from tlstudio.data import write_digits_demo
from tlstudio.gui.training.worker import (
    BatchSnapshot,
    BatchThrottle,
    PhaseThrottle,
    TrainingController,
    leave_core_to_gui,
)
from tlstudio.recipe import Recipe
from tlstudio.training import (
    BatchEnded,
    EpochEnded,
    FitStarted,
    LogMessage,
    PhaseProgress,
    RunResult,
    epoch_loop,
)

OUT_OF_MEMORY = "Out of memory; try a smaller batch size or image size"  # the window's words

RUN_TIMEOUT = 120_000


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_digits_demo(tmp_path_factory.mktemp("digits"))


def tiny_recipe(digits: Path, out: Path, **changes) -> Recipe:
    """tiny_cnn trained end to end (no feature cache), so every epoch has real batches."""
    recipe = Recipe(data_dir=str(digits / "train"), val_dir=str(digits / "val"),
                    out_dir=str(out), backbone="tiny_cnn", epochs=2, batch_size=16,
                    freeze="none", feature_cache=False)
    return recipe.replace(**changes)


class Recorder(QObject):
    """Collects everything the controller emits, in the GUI thread."""

    def __init__(self, controller: TrainingController) -> None:
        super().__init__()
        self.started: list[FitStarted] = []
        self.snapshots: list[BatchSnapshot] = []
        self.epochs: list[EpochEnded] = []
        self.phases: list[PhaseProgress] = []
        self.logs: list[tuple[str, str]] = []
        self.failures: list[str] = []
        controller.fitStarted.connect(self.started.append)
        controller.batchProgress.connect(self.snapshots.append)
        controller.epochEnded.connect(self.epochs.append)
        controller.phaseProgress.connect(self.phases.append)
        controller.log.connect(self.on_log)
        controller.failed.connect(self.failures.append)

    @Slot(str, str)
    def on_log(self, text: str, level: str) -> None:
        self.logs.append((text, level))


@pytest.fixture
def controller(qtbot):
    controller = TrainingController()
    yield controller
    assert controller.shutdown(), "the training thread did not end"


def run_to_end(qtbot, controller: TrainingController, recipe: Recipe) -> RunResult | None:
    with qtbot.waitSignal(controller.finished, timeout=RUN_TIMEOUT) as blocker:
        controller.start(recipe)
    assert not controller.is_running()
    return blocker.args[0]


def test_tiny_run_reports_and_finishes(qtbot, controller, digits, tmp_path):
    seen = Recorder(controller)
    result = run_to_end(qtbot, controller, tiny_recipe(digits, tmp_path / "run"))

    assert isinstance(result, RunResult) and not result.stopped
    assert Path(result.run_dir, "model.safetensors").is_file()
    (started,) = seen.started
    assert len(started.classes) == 10 and started.epochs == 2
    assert [e.epoch for e in seen.epochs] == [1, 2]
    assert all(0.0 <= e.val_accuracy <= 1.0 and e.train_loss > 0 for e in seen.epochs)
    steps = [step for s in seen.snapshots for step, _ in s.points]
    assert steps == list(range(1, 2 * started.batches_per_epoch + 1))  # every batch, in order
    last = seen.snapshots[-1]
    assert (last.epoch, last.batch) == (2, started.batches_per_epoch)
    assert last.eta_seconds == 0 and last.images_per_second > 0
    assert len(last.smoothed_points) == len(last.points)
    assert not seen.failures


def test_stop_midway_ends_with_a_stopped_result(qtbot, controller, digits, tmp_path):
    with qtbot.waitSignal(controller.epochEnded, timeout=RUN_TIMEOUT):
        controller.start(tiny_recipe(digits, tmp_path / "run", epochs=200))
    with qtbot.waitSignal(controller.finished, timeout=RUN_TIMEOUT) as blocker:
        controller.stop()
    result = blocker.args[0]
    assert result.stopped and 1 <= len(result.epochs) < 200
    assert not controller.is_running()


def test_pause_holds_batches_until_resume(qtbot, controller, digits, tmp_path):
    seen = Recorder(controller)
    with qtbot.waitSignal(controller.fitStarted, timeout=RUN_TIMEOUT):
        controller.start(tiny_recipe(digits, tmp_path / "run", epochs=1))
        controller.pause()  # before the first batch: the engine waits at the batch boundary
    assert controller.is_paused()
    with qtbot.assertNotEmitted(controller.batchProgress, wait=300):
        pass
    assert not seen.snapshots
    with qtbot.waitSignal(controller.finished, timeout=RUN_TIMEOUT) as blocker:
        controller.resume()
    assert not blocker.args[0].stopped and len(blocker.args[0].epochs) == 1
    assert seen.snapshots


def test_broken_folder_fails_readably_then_trains_again(qtbot, controller, digits, tmp_path):
    seen = Recorder(controller)
    broken = tiny_recipe(digits, tmp_path / "run", data_dir=str(tmp_path / "missing"))
    assert run_to_end(qtbot, controller, broken) is None
    (message,) = seen.failures
    assert "does not exist" in message and "Traceback" not in message

    result = run_to_end(qtbot, controller, tiny_recipe(digits, tmp_path / "run", epochs=1))
    assert isinstance(result, RunResult) and len(result.epochs) == 1


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ValueError("kaboom"), "Training failed: ValueError: kaboom (details in the training log)"),
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"), OUT_OF_MEMORY),
        (MemoryError(), OUT_OF_MEMORY),
    ],
)
def test_exception_inside_fit_reaches_failed_and_log(qtbot, controller, digits, tmp_path,
                                                     monkeypatch, error, message):
    def train_one_epoch(*args, **kwargs):
        raise error

    monkeypatch.setattr(epoch_loop, "train_one_epoch", train_one_epoch)
    seen = Recorder(controller)
    assert run_to_end(qtbot, controller, tiny_recipe(digits, tmp_path / "run")) is None
    assert seen.failures == [message]
    tracebacks = [text for text, level in seen.logs if level == "error"]
    assert len(tracebacks) == 1 and "train_one_epoch" in tracebacks[0]


def test_shutdown_joins_a_running_thread_and_drops_its_late_signals(qtbot, controller,
                                                                    digits, tmp_path):
    seen = Recorder(controller)
    with qtbot.waitSignal(controller.epochEnded, timeout=RUN_TIMEOUT):
        controller.start(tiny_recipe(digits, tmp_path / "run", epochs=200))
    with qtbot.assertNotEmitted(controller.finished, wait=200):
        assert controller.shutdown(timeout_ms=30_000)
    assert not controller.is_running()
    epochs_seen = len(seen.epochs)
    assert run_to_end(qtbot, controller, tiny_recipe(digits, tmp_path / "again", epochs=1))
    assert len(seen.epochs) == epochs_seen + 1


def fast_batches(count: int, pause: float = 0.0):
    """A fake engine: one epoch of `count` batches, each taking about `pause` seconds."""

    def fake_fit(recipe, callbacks, control):
        (emit,) = callbacks
        emit(FitStarted("run", ("a", "b"), 1, count, count, 0, 0, "cpu", 32, 1, 1, False))
        start = time.perf_counter()
        for batch in range(1, count + 1):
            deadline = time.perf_counter() + pause
            while time.perf_counter() < deadline:  # busy "compute", as a batch would be
                pass
            emit(BatchEnded(1, batch, count, 1.0 / batch, 1e-3, 8,
                            time.perf_counter() - start))
        fake_fit.seconds = time.perf_counter() - start
        return RunResult("run", ("a", "b"), (), False)

    return fake_fit


def test_bursts_of_batches_are_throttled_without_losing_points(qtbot, digits, tmp_path):
    fake_fit = fast_batches(3000, pause=0.0004)
    controller = TrainingController(fit_fn=fake_fit)
    seen = Recorder(controller)
    run_to_end(qtbot, controller, tiny_recipe(digits, tmp_path / "run", threads=1))

    assert fake_fit.seconds > 1.0
    assert len(seen.snapshots) <= 30 * fake_fit.seconds + 2
    steps = [step for s in seen.snapshots for step, _ in s.points]
    assert steps == list(range(1, 3001))
    assert seen.snapshots[-1].batch == 3000


def test_batch_throttle_with_a_fake_clock():
    now = [0.0]
    out: list[BatchSnapshot] = []
    throttle = BatchThrottle(out.append, clock=lambda: now[0])
    throttle.start(epochs=2)
    for epoch in (1, 2):
        for batch in range(1, 501):  # one batch per millisecond: 1 s in all
            now[0] += 0.001
            throttle.add(BatchEnded(epoch, batch, 500, 2.0, 1e-3, 10, batch * 0.001))
    assert 20 <= len(out) <= 28  # ~25 a second, plus the first batch and each epoch end
    assert sum(len(s.points) for s in out) == 1000
    assert out[0].images_per_second == pytest.approx(10_000)
    assert out[0].eta_seconds == pytest.approx(0.999)
    assert out[-1].smoothed_loss == pytest.approx(2.0)


def test_phase_progress_passes_only_when_its_percent_changes():
    out: list[PhaseProgress] = []
    phases = PhaseThrottle(out.append)
    for done in range(10_001):
        phases.add(PhaseProgress("scanning images", done, 10_000))
    phases.add(PhaseProgress("extracting features", 0, 10))
    assert len(out) == 102


@pytest.mark.parametrize(("cores", "torch_threads", "expected"),
                         [(8, 8, 7), (8, 4, 4), (2, 2, 1), (1, 1, 1)])
def test_a_cpu_run_leaves_one_core_to_the_window(monkeypatch, cores, torch_threads, expected):
    """All cores but one, never more than torch's own default, at least one."""
    monkeypatch.setattr(devices, "cores_available", lambda: cores)
    monkeypatch.setattr(devices, "TORCH_DEFAULT_THREADS", torch_threads)
    recipe, note = leave_core_to_gui(Recipe(data_dir="d", device="cpu"))
    assert recipe.threads == expected and f"with {expected} thread(s)" in note
    assert "leaving one core" in note
    chosen = Recipe(data_dir="d", device="cpu", threads=3)
    assert leave_core_to_gui(chosen) == (chosen, None)


class Flood(QObject):
    """Emits a flood of progress signals from its own thread."""

    progress = Signal(int, bool)
    snapshot = Signal(object)

    @Slot()
    def run(self) -> None:
        for i in range(10_000):
            self.progress.emit(i, i % 2 == 0)
            self.snapshot.emit(BatchSnapshot(1, i, 10_000, 1.0, 1.0, 1e-3, 1.0, None,
                                             ((i, 1.0),), ((i, 1.0),)))


class Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.progress = 0
        self.snapshots = 0
        self.wrong_thread = 0

    @Slot(int, bool)
    def on_progress(self, i: int, even: bool) -> None:
        self.wrong_thread += QThread.currentThread() is not self.thread()
        self.progress += even == (i % 2 == 0)

    @Slot(object)
    def on_snapshot(self, snapshot: BatchSnapshot) -> None:
        self.snapshots += 1


def test_ten_thousand_cross_thread_signals_all_arrive(qtbot):
    """PySide6 6.12.0 on CPython 3.11 aborts the process here (excluded in pyproject)."""
    receiver, flood, thread = Receiver(), Flood(), QThread()
    flood.moveToThread(thread)
    flood.progress.connect(receiver.on_progress)
    flood.snapshot.connect(receiver.on_snapshot)
    thread.started.connect(flood.run)
    with qtbot.waitSignal(thread.finished, timeout=60_000):
        thread.start()
        thread.quit()  # ends the thread's event loop once run() has returned
    qtbot.waitUntil(lambda: receiver.snapshots == 10_000, timeout=60_000)
    thread.wait()
    assert receiver.progress == 10_000 and receiver.wrong_thread == 0


def test_ten_thousand_log_lines_through_the_controller(qtbot, digits, tmp_path):
    def chatty_fit(recipe, callbacks, control):
        for i in range(10_000):
            callbacks[0](LogMessage(f"line {i}"))
        return RunResult("run", (), (), False)

    controller = TrainingController(fit_fn=chatty_fit)
    seen = Recorder(controller)
    run_to_end(qtbot, controller, tiny_recipe(digits, tmp_path / "run", threads=1))
    lines = [text for text, _ in seen.logs if text.startswith("line ")]
    assert lines == [f"line {i}" for i in range(10_000)]
