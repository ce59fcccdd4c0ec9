"""The window under the faults of tests/faults: the demo shared with `tlstudio demo` in either
order, one default runs folder with the CLI, and the core's write errors in its messages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from imagefolders import write_class_folders
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from tlstudio.cli import main
from tlstudio.data.demo import MARKER, default_demo_root
from tlstudio.demo_run import demo_recipe
from tlstudio.gui import MainWindow
from tlstudio.gui.export.export_dialog import Exporter
from tlstudio.gui.results.results_report import ReportBar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))
from write_faults import tiny_run

SCAN_TIMEOUT = 60_000


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh user: their own home (demo, runs) and no saved window settings."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(tmp_path / "settings"))
    return home


@pytest.fixture
def window(qtbot, home: Path) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    yield window
    window.close()


def _try_the_demo(qtbot, window: MainWindow) -> None:
    """Click "Try the demo digits" and wait for the digits to be scanned."""
    button = window.dataset_view.findChild(QPushButton, "demoButton")
    with qtbot.waitSignal(window.data_panel.scanned, timeout=SCAN_TIMEOUT):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not window.banner.isVisible(), window.banner.label.text()


@pytest.mark.parametrize("cli_first", [True, False], ids=["cli-then-window", "window-then-cli"])
def test_the_demo_works_from_the_window_and_the_cli_in_either_order(qtbot, window, home,
                                                                    cli_first) -> None:
    if cli_first:
        recipe = demo_recipe(default_demo_root())  # `tlstudio demo`'s data, as it writes it
        (default_demo_root() / "run").mkdir()  # and the run folder beside it
    _try_the_demo(qtbot, window)
    if not cli_first:
        marker = Path(window.data_panel.train_dir()).parent / MARKER
        written = marker.stat().st_mtime_ns
        recipe = demo_recipe(default_demo_root())
        assert marker.stat().st_mtime_ns == written  # the window's digits, not written again
    assert window.data_panel.train_dir() == recipe.data_dir
    assert window.data_panel.val_dir() == recipe.val_dir
    assert len(list(Path(recipe.data_dir).rglob("*.png"))) == 300


def test_the_window_and_the_cli_save_runs_under_one_default_folder(window, home,
                                                                   tmp_path) -> None:
    data = write_class_folders(tmp_path / "photos", {"a": 4, "b": 4})
    assert main(["train", str(data), "--backbone", "tiny_cnn", "--epochs", "1", "--image-size",
                 "16", "--val-split", "0.25"]) == 0
    runs = home / "tlstudio" / "runs"
    assert (runs / "photos" / "model.safetensors").is_file()
    assert window.settings_panel.runs_dir.text() == str(runs)
    window.data_panel.set_folders(str(data))
    assert Path(window.recipe().out_dir).parent == runs


def test_export_and_report_show_the_cores_write_error(qtbot, window, tmp_path) -> None:
    run = tiny_run(tmp_path / "run", tmp_path / "data")
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    exporter, report = Exporter(window), ReportBar(window)
    for start, failed, dest in (
        (lambda dest: exporter.export(str(run), dest), exporter.failed, blocker / "m.onnx"),
        (lambda dest: report.write(str(run), dest, str(tmp_path / "data"), None), report.failed,
         blocker / "r.html"),
    ):
        with qtbot.waitSignal(failed, timeout=SCAN_TIMEOUT) as message:
            assert start(str(dest))
        # The core's words (the report line puts "The report could not be written: " first).
        assert message.args[0].endswith(f"Cannot write '{dest}': '{blocker}' is a file, not a "
                                        "folder; choose another location")
    assert blocker.read_text() == "mine"


def test_training_into_a_runs_folder_that_cannot_be_written_shows_why(qtbot, window,
                                                                       tmp_path) -> None:
    data = write_class_folders(tmp_path / "photos", {"a": 4, "b": 4})
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    window.backbone_panel.set_backbone("tiny_cnn")
    window.settings_panel.image_size.setValue(16)
    window.settings_panel.runs_dir.setText(str(blocker / "runs"))
    with qtbot.waitSignal(window.data_panel.scanned, timeout=SCAN_TIMEOUT):
        window.data_panel.set_folders(str(data))
    with qtbot.waitSignal(window.controller.failed, timeout=SCAN_TIMEOUT):
        window.start_button.click()
    qtbot.waitUntil(lambda: not window.controller.is_running(), timeout=SCAN_TIMEOUT)
    assert window.banner.kind == "error"
    assert f"'{blocker}' is a file, not a folder; choose another location" in \
        window.banner.label.text()
    assert blocker.read_text() == "mine"
