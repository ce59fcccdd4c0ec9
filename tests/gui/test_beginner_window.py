"""A beginner's path through the real window: every action is a click on the button or menu
item a user would use (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from tests.imagefolders import write_class_folders
from tlstudio.gui import MainWindow

TIMEOUT = 60_000


@pytest.fixture
def settings_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "settings"
    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(folder))
    return folder


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_class_folders(tmp_path / "data", {"red": 8, "green": 8, "blue": 4})


@pytest.fixture
def window(qtbot, settings_dir: Path, tmp_path: Path) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.settings_panel.runs_dir.setText(str(tmp_path / "runs"))
    window.backbone_panel.set_backbone("tiny_cnn")
    window.settings_panel.image_size.setValue(16)
    window.settings_panel.batch_size.setValue(8)
    yield window
    window.close()


def scan(qtbot, window: MainWindow, folder: Path) -> None:
    with qtbot.waitSignal(window.data_panel.scanned, timeout=TIMEOUT):
        window.open_folder(str(folder))


def child(window: MainWindow, kind: type, name: str):
    widget = window.findChild(kind, name)
    assert widget is not None, name
    return widget


def test_find_learning_rate_works_from_its_button(qtbot, window: MainWindow, data: Path) -> None:
    scan(qtbot, window, data)
    button = child(window, QPushButton, "lrFinderButton")
    with qtbot.waitSignal(window.lr_finder.finished, timeout=TIMEOUT) as done:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert done.args[0] is not None, window.lr_finder.status.text()
    assert "at least" not in window.lr_finder.status.text()
    xs, _ = window.lr_finder.curve.getData()
    assert len(xs) >= 10
