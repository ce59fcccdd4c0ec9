"""A bad "Weights file…" (step 2) fails the run with an error in the banner; the error goes once
its cause does: another weights file chosen, or another backbone (which drops the file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QPushButton
from safetensors.torch import save_file
from window_helpers import child, make_tiny_window, scan

from tests.imagefolders import write_class_folders
from tlstudio.gui import MainWindow
from tlstudio.models.registry import build_imagenet_model, get_spec

TIMEOUT = 60_000


@pytest.fixture
def window(qtbot, settings_dir: Path, tmp_path: Path):
    window = make_tiny_window(qtbot, tmp_path / "runs")
    scan(qtbot, window, write_class_folders(tmp_path / "data", {"red": 4, "green": 4}))
    yield window
    window.close()


def pick_weights_file(qtbot, window: MainWindow, path: Path, monkeypatch) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(path), ""))
    qtbot.mouseClick(child(window, QPushButton, "weightsFileButton"), Qt.MouseButton.LeftButton)


def train(qtbot, window: MainWindow) -> object:
    """The run's result (None: it failed)."""
    with qtbot.waitSignal(window.controller.finished, timeout=TIMEOUT) as finished:
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    return finished.args[0]


@pytest.mark.parametrize("remedy", ["good file", "other backbone"])
def test_a_weights_file_error_goes_when_its_cause_does(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remedy: str
) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not weights")
    pick_weights_file(qtbot, window, bad, monkeypatch)
    assert train(qtbot, window) is None
    banner = window.banner
    assert banner.kind == "error" and str(bad) in banner.label.text()
    if remedy == "good file":
        good = tmp_path / "good.safetensors"
        save_file(build_imagenet_model(get_spec("tiny_cnn")).state_dict(), str(good))
        pick_weights_file(qtbot, window, good, monkeypatch)
    else:
        combo = window.backbone_panel.combo
        combo.setCurrentIndex(combo.findData("tf_efficientnet_lite0"))
    assert banner.isHidden() and banner.kind == ""
    if remedy == "good file":  # and it was the file: the run now trains from it
        assert train(qtbot, window) is not None
        assert banner.isHidden()
        assert window.recipe().weights == str(tmp_path / "good.safetensors")
