"""Backbones whose weights are not on this computer (issue 12 bug 7): marked in the list, a
weights file chosen in the window, Train disabled with the reason until then, and a failed
download that says why in plain words (no network is used: the server is a closed port)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFileDialog, QPushButton
from window_helpers import child, make_tiny_window, scan

from tests.imagefolders import write_class_folders
from tlstudio.gui import MainWindow
from tlstudio.gui.sidebar import backbone_panel
from tlstudio.models import weights as weights_mod
from tlstudio.models.catalog import backbone_rows

TIMEOUT = 30_000


@pytest.fixture
def window(qtbot, settings_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    rows = [dict(row) for row in backbone_rows()]
    for row in rows:  # whatever this computer has cached, resnet18's weights are missing
        if row["name"] == "resnet18":
            row["weights"] = "download"
    monkeypatch.setattr(backbone_panel, "backbone_rows", lambda: rows)
    window = make_tiny_window(qtbot, tmp_path / "runs")
    scan(qtbot, window, write_class_folders(tmp_path / "data", {"red": 4, "green": 4}))
    yield window
    window.close()


def choose(window: MainWindow, name: str) -> None:
    combo = window.backbone_panel.combo
    combo.setCurrentIndex(combo.findData(name))


def test_a_backbone_without_weights_is_marked_and_trains_only_from_a_file(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    combo, train = window.backbone_panel.combo, window.start_button
    index = combo.findData("resnet18")
    assert "(not downloaded)" in combo.itemText(index)
    assert "not on this computer" in combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
    grey = window.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert combo.itemData(index, Qt.ItemDataRole.ForegroundRole) == grey
    bundled = combo.findData("tf_efficientnet_lite0")
    assert "not downloaded" not in combo.itemText(bundled)
    assert train.isEnabled() and "Train" in train.toolTip()

    choose(window, "resnet18")
    assert not train.isEnabled()
    assert "Download weights" in train.toolTip() and "weights file" in train.toolTip()

    weights = tmp_path / "resnet18.safetensors"
    weights.write_bytes(b"")  # only its path matters until a run reads it
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda *args: (str(weights), "Weights (*.safetensors)")
    )
    qtbot.mouseClick(child(window, QPushButton, "weightsFileButton"), Qt.MouseButton.LeftButton)
    assert train.isEnabled()
    assert window.recipe().weights == str(weights)
    assert "chosen file" in window.backbone_panel.weights_label.text()

    edit = window.backbone_panel.weights_file.edit  # a typed path that is not there
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, str(tmp_path / "missing.safetensors"))
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert not train.isEnabled() and "does not exist" in train.toolTip()

    choose(window, "tiny_cnn")  # the file was for resnet18: another backbone drops it
    assert window.recipe().weights is None and train.isEnabled()
    choose(window, "resnet18")
    assert window.backbone_panel.weights_file.path() == "" and not train.isEnabled()


def test_a_failed_download_says_why_without_urlopen_text(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = weights_mod.download_weights

    def nowhere(spec, progress, cancelled):  # a closed port: refused at once, nothing written
        unreachable = dataclasses.replace(spec, weights_url="http://127.0.0.1:9/r-1234abcd.pth")
        return real(unreachable, progress, cancelled)

    monkeypatch.setattr(backbone_panel, "download_weights", nowhere)
    choose(window, "resnet18")
    with qtbot.waitSignal(window.backbone_panel.downloadFailed, timeout=TIMEOUT):
        qtbot.mouseClick(window.backbone_panel.download_button, Qt.MouseButton.LeftButton)
    text = window.banner.label.text()
    assert window.banner.kind == "error" and "Could not download the resnet18 weights" in text
    for raw in ("urlopen", "127.0.0.1", "Errno", "http"):
        assert raw not in text, text
    assert "Weights file…" in text  # the remedy names the control that is there
    assert not window.start_button.isEnabled()
