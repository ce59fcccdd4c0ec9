"""Try images and the current run (issue 12 bug 4): it names the run whose model predicts as
every tab names the current run, never switches models silently at the end of a run, and
switches along with the current run, saying so; a model the user chose stays."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel
from window_helpers import drop_on, make_tiny_window, scan

from tests.imagefolders import train_tiny_run, write_class_folders
from tlstudio.gui import MainWindow

TIMEOUT = 60_000


@pytest.fixture
def window(qtbot, settings_dir: Path, tmp_path: Path) -> MainWindow:
    window = make_tiny_window(qtbot, tmp_path / "runs")
    window.show()
    yield window
    window.close()


def run_label(window: MainWindow) -> str:
    return window.try_images.findChild(QLabel, "currentRunLabel").text()


def test_try_images_follows_the_current_run_visibly(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened, data = train_tiny_run(tmp_path / "old", {"red": 4, "green": 4, "blue": 4})
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(opened))
    with qtbot.waitSignal(window.results_view.evaluationShown, timeout=TIMEOUT):
        window.open_run_action.trigger()  # File > Open run…
    try_view, label = window.try_images, window.try_images.model_label
    assert "the current run's" in label.full_text and run_label(window) in label.full_text
    images = sorted((data / "red").iterdir())[:2]
    with qtbot.waitSignal(try_view.predicted, timeout=TIMEOUT):
        drop_on(window, images)
    assert f"predicted by {opened.name}" in try_view.status.text()

    scan(qtbot, window, write_class_folders(tmp_path / "new", {"red": 4, "green": 4}))
    with qtbot.waitSignal(window.controller.fitStarted, timeout=TIMEOUT):
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    new_run = window.current_run()
    assert run_label(window) in label.full_text and "none yet" in label.full_text
    assert try_view.records() == []  # not shown as the new run's predictions
    assert "2 item(s) wait for the current run's model" in try_view.status.text()

    with qtbot.waitSignal(try_view.predicted, timeout=TIMEOUT):
        pass  # the run ends; the waiting images are predicted by its model
    assert window.current_run() == new_run
    assert "the current run's" in label.full_text and run_label(window) in label.full_text
    assert Path(new_run).name in try_view.status.text()
    assert sorted(r.path for r in try_view.records()) == sorted(map(str, images))


def test_a_chosen_model_stays_whichever_run_is_current(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen, data = train_tiny_run(tmp_path / "chosen", {"red": 4, "green": 4})
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(chosen), ""))
    window.tabs.setCurrentWidget(window.try_images)
    qtbot.mouseClick(window.try_images.choose_model, Qt.MouseButton.LeftButton)
    scan(qtbot, window, data)
    with qtbot.waitSignal(window.controller.finished, timeout=TIMEOUT):
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    assert window.try_images.source == str(chosen)
    assert window.try_images.model_label.full_text == f"Model: {chosen}"
