"""The window given a folder holding train/ and val/: it uses them, and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from imagefolders import write_class_folders
from window_helpers import SCAN_TIMEOUT, drop_on, make_window, type_folder

from tlstudio.data import write_digits_demo
from tlstudio.gui import MainWindow

NOTE = "This folder holds train/ and val/: using train/ for training and val/ for validation."


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(tmp_path / "settings"))
    window = make_window(qtbot, tmp_path / "runs")
    window.backbone_panel.set_backbone("tiny_cnn")
    yield window
    window.close()


@pytest.fixture
def digits(tmp_path: Path) -> Path:
    return write_digits_demo(tmp_path / "digits", per_class=8, size=16)


def assert_uses_train_and_val(window: MainWindow, root: Path) -> None:
    panel = window.data_panel
    assert panel.train_folder.edit.text() == str(root / "train")
    assert panel.folder_radio.isChecked() and panel.val_folder.edit.text() == str(root / "val")
    assert window.dataset_view.chart.counts == {str(d): 6 for d in range(10)}
    assert len(panel.data.val) == 20
    assert window.banner.kind == "info" and window.banner.label.text() == NOTE
    assert panel.summary.text().startswith(NOTE)
    recipe = window.recipe()
    assert (recipe.data_dir, recipe.val_dir) == (str(root / "train"), str(root / "val"))


def test_typed_root_with_train_and_val_uses_them(qtbot, window: MainWindow, digits: Path):
    with qtbot.waitSignal(window.data_panel.scanned, timeout=SCAN_TIMEOUT):
        type_folder(qtbot, window, "trainFolderEdit", digits)
    assert_uses_train_and_val(window, digits)


def test_dropped_root_with_train_and_val_uses_them(qtbot, window: MainWindow, digits: Path):
    with qtbot.waitSignal(window.data_panel.scanned, timeout=SCAN_TIMEOUT):
        drop_on(window, [digits])
    assert_uses_train_and_val(window, digits)


def test_classes_called_train_and_val_stay_classes(qtbot, window: MainWindow, tmp_path: Path):
    data = write_class_folders(tmp_path / "trains", {"train": 4, "val": 4})
    with qtbot.waitSignal(window.data_panel.scanned, timeout=SCAN_TIMEOUT):
        type_folder(qtbot, window, "trainFolderEdit", data)
    assert window.dataset_view.chart.counts == {"train": 4, "val": 4}
    assert window.data_panel.train_folder.edit.text() == str(data)
    assert window.banner.kind == ""  # no note
