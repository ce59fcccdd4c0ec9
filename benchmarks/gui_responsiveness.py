"""Is the window responsive while it trains, and what does training from it cost?

In one process, offscreen: a 10 ms heartbeat timer in the GUI thread while the real
MainWindow's TrainingController trains (its plots, progress bar and log updating), then
the same recipe headless through `fit` in the main thread, alternating. Prints heartbeat
lateness and the window/headless training throughput ratio at the same thread count.

    python benchmarks/gui_responsiveness.py [--epochs 3] [--image-size 128] [--pairs 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication

from tlstudio.data import write_digits_demo
from tlstudio.devices import default_threads
from tlstudio.gui import MainWindow
from tlstudio.gui.shared.gui_garbage import collect_garbage_in_gui_thread
from tlstudio.recipe import Recipe
from tlstudio.training import BatchEnded, fit


class EpochTimes:
    """A training callback: images and training seconds (no validation) of each epoch."""

    def __init__(self) -> None:
        self.epochs: dict[int, tuple[int, float]] = {}

    def __call__(self, event) -> None:
        if isinstance(event, BatchEnded):
            images, _ = self.epochs.get(event.epoch, (0, 0.0))
            self.epochs[event.epoch] = (images + event.images, event.seconds)

    def images_per_second(self) -> float:
        """Steady state: the first epoch (allocator and kernel warm-up) is left out."""
        kept = [v for epoch, v in self.epochs.items() if epoch > 1] or list(self.epochs.values())
        return sum(n for n, _ in kept) / sum(s for _, s in kept)


class Heartbeat(QObject):
    """A 10 ms timer in the GUI thread; lateness is how much later than 10 ms each tick came."""

    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.interval = interval_ms / 1000
        self.ticks: list[float] = []
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)

    @Slot()
    def tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def lateness_ms(self) -> np.ndarray:
        return np.maximum(np.diff(self.ticks) - self.interval, 0.0) * 1000


def run_in_window(recipe: Recipe, heartbeat: Heartbeat) -> tuple[float, np.ndarray]:
    times = EpochTimes()

    def timed_fit(recipe, callbacks, control):
        return fit(recipe, callbacks=[*callbacks, times], control=control, overwrite=True)

    window = MainWindow(restore=False)
    window.show()
    controller = window.controller
    controller._fit = timed_fit  # the real window, with the run timed as the headless one
    window.tabs.setCurrentWidget(window.training_view)
    loop = QEventLoop()
    failures: list[str] = []
    controller.failed.connect(failures.append)
    controller.finished.connect(loop.quit)
    heartbeat.ticks.clear()
    heartbeat.timer.start()
    controller.start(recipe)
    loop.exec()
    heartbeat.timer.stop()
    controller.shutdown()
    window.close()
    if failures:
        sys.exit(f"window run failed: {failures[0]}")
    return times.images_per_second(), heartbeat.lateness_ms()


def run_headless(recipe: Recipe) -> float:
    times = EpochTimes()
    fit(recipe, callbacks=[times], overwrite=True)  # each pair reuses the run folder
    return times.images_per_second()


def idle_lateness(app: QApplication, heartbeat: Heartbeat, seconds: float = 1.0) -> np.ndarray:
    heartbeat.ticks.clear()
    heartbeat.timer.start()
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    heartbeat.timer.stop()
    return heartbeat.lateness_ms()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="tf_efficientnet_lite0")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for both runs (default: the window's, cores - 1)")
    parser.add_argument("--pairs", type=int, default=2, help="headless/window pairs, alternated")
    args = parser.parse_args()

    os.environ.setdefault("TLSTUDIO_SETTINGS_DIR", tempfile.mkdtemp(prefix="tlstudio-bench-"))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    collector = collect_garbage_in_gui_thread()  # noqa: F841 - as the app does (run_app)
    threads = args.threads or default_threads()
    heartbeat = Heartbeat()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_digits_demo(Path(tmp) / "digits")
        recipe = Recipe(data_dir=str(data / "train"), val_dir=str(data / "val"),
                        out_dir=str(Path(tmp) / "run"), backbone=args.backbone,
                        epochs=args.epochs, batch_size=args.batch_size,
                        image_size=args.image_size, device="cpu", threads=threads,
                        freeze="backbone", feature_cache=False)
        idle = idle_lateness(app, heartbeat)
        headless, window, lateness = [], [], []
        for _ in range(args.pairs):
            headless.append(run_headless(recipe))
            rate, late = run_in_window(recipe, heartbeat)
            window.append(rate)
            lateness.append(late)
    late = np.concatenate(lateness)
    ratio = statistics.median(window) / statistics.median(headless)

    print(f"{args.backbone}, head only, no feature cache, {args.image_size} px, batch "
          f"{args.batch_size}, {args.epochs} epochs, {threads} torch thread(s) of "
          f"{os.cpu_count()} cores, {args.pairs} pair(s)")
    print(f"{'run':<10}{'images/s (median, epochs 2+)':>32}   each")
    for name, rates in (("headless", headless), ("window", window)):
        each = ", ".join(f"{r:.1f}" for r in rates)
        print(f"{name:<10}{statistics.median(rates):>32.1f}   {each}")
    print(f"window/headless throughput ratio: {ratio:.3f}")
    print(f"{'heartbeat lateness (10 ms timer)':<36}{'p50':>8}{'p99':>8}{'max':>8}{'ticks':>8}")
    for name, values in (("idle", idle), ("while the window trains", late)):
        p50, p99 = np.percentile(values, [50, 99])
        print(f"{name:<36}{p50:>6.1f}ms{p99:>6.1f}ms{values.max():>6.1f}ms{len(values):>8}")


if __name__ == "__main__":
    main()
