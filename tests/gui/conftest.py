"""GUI test setup: offscreen Qt, and a check that no test leaves a QThread running.

The check follows napari's `_dangling_qthreads`: every QThread started from Python is
remembered (weakly); a thread still running when its test ends fails that test. Background
jobs on the thread pool get a short grace to end (a cancelled one stops at its next check);
one still running after it fails the test too.
"""

from __future__ import annotations

import gc
import os
import traceback
import weakref

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QThread

from tlstudio.gui.shared.background import jobs_in_flight

JOB_GRACE_MS = 10_000  # a job this long past its test's end is not ending by itself


def _is_running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ thread was already deleted: it is not running
        return False


@pytest.fixture(autouse=True)
def _collect_garbage_in_the_gui_thread():
    """As the app does (gui_garbage): no automatic collection while a test's threads run, so
    an earlier test's Qt objects are never destroyed in a training thread; collect here."""
    gc.disable()
    yield
    gc.collect()
    gc.enable()


@pytest.fixture(autouse=True)
def _dangling_qthreads(monkeypatch: pytest.MonkeyPatch, qtbot):
    started: weakref.WeakKeyDictionary[QThread, str] = weakref.WeakKeyDictionary()
    base_start = QThread.start

    def start_and_remember(self: QThread, *args) -> None:
        started[self] = "".join(traceback.format_stack(limit=6)[:-1])
        base_start(self, *args)

    monkeypatch.setattr(QThread, "start", start_and_remember)
    yield
    dangling = [(t, where) for t, where in list(started.items()) if _is_running(t)]
    for thread, _ in dangling:  # end them so one failure does not spill into the next test
        thread.quit()
        qtbot.waitUntil(lambda t=thread: not _is_running(t), timeout=10_000)
    if dangling:
        places = "\n\n".join(where for _, where in dangling)
        pytest.fail(f"{len(dangling)} QThread(s) still running after the test, started at:\n"
                    f"{places}")


@pytest.fixture(autouse=True)
def _dangling_jobs(qtbot):
    yield
    try:
        qtbot.waitUntil(lambda: not jobs_in_flight(), timeout=JOB_GRACE_MS)
    except qtbot.TimeoutError:
        pytest.fail(f"{jobs_in_flight()} background job(s) still running "
                    f"{JOB_GRACE_MS / 1000:g} s after the test")


@pytest.fixture
def settings_dir(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """The window's QSettings in the test's own folder: nothing of the user's is read or kept."""
    folder = tmp_path / "settings"
    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(folder))
    return folder


@pytest.fixture
def digits(tmp_path):
    """Ten classes of small digit images, in train/ and val/."""
    from tlstudio.data import write_digits_demo

    return write_digits_demo(tmp_path / "digits", per_class=8, size=16)


@pytest.fixture
def window(qtbot, settings_dir, tmp_path):
    """The real window on the tiny_cnn backbone, runs in the test's folder (a test file may
    define its own)."""
    from window_helpers import make_window

    window = make_window(qtbot, tmp_path / "runs")
    window.backbone_panel.set_backbone("tiny_cnn")
    yield window
    window.close()


@pytest.fixture
def dark_palette(qapp):
    """A dark palette on the application, as a dark desktop theme gives (restored after)."""
    from PySide6.QtGui import QColor, QPalette

    before = qapp.palette()
    dark = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#2b2b2b"),
                         (QPalette.ColorRole.WindowText, "#eeeeee"),
                         (QPalette.ColorRole.Base, "#1e1e1e"),
                         (QPalette.ColorRole.AlternateBase, "#333333"),
                         (QPalette.ColorRole.Text, "#eeeeee"),
                         (QPalette.ColorRole.Button, "#3a3a3a"),
                         (QPalette.ColorRole.ButtonText, "#eeeeee")):
        dark.setColor(role, QColor(colour))
    qapp.setPalette(dark)
    yield dark
    qapp.setPalette(before)
