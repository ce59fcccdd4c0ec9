"""Faults a user hit clicking through the Runs, Domain shift and Compare parts of the window:
each ends in a readable message and a state that matches what is on screen."""

from __future__ import annotations

from pathlib import Path

from imagefolders import write_class_folders
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QSpinBox
from window_helpers import child, make_tiny_window, scan

from tlstudio.gui import MainWindow
from tlstudio.gui.compare.compare_dialog import CompareDialog
from tlstudio.recipe import Recipe
from tlstudio.training import fit

WAIT = 20_000


def show_tab(qtbot, window: MainWindow, widget) -> None:
    window.show()
    bar = window.tabs.tabBar()
    index = window.tabs.indexOf(widget)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert window.tabs.currentWidget() is widget


def test_a_runs_folder_that_is_a_file_is_named_not_shown_as_empty(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    """The runs folder typed in the sidebar is a file: the Runs tab says so in the banner
    instead of an empty list that looks like 'no runs yet'."""
    not_a_folder = tmp_path / "runs.txt"
    not_a_folder.write_text("notes")
    window.settings_panel.runs_dir.setText(str(not_a_folder))
    show_tab(qtbot, window, window.runs_view)
    qtbot.waitUntil(window.banner.isVisible, timeout=WAIT)
    assert "runs.txt" in window.banner.label.text()
    assert "not a folder" in window.banner.label.text()
    assert window.runs_view.model.rowCount() == 0


def test_a_shift_measured_after_a_failed_one_clears_the_old_error(
    qtbot, window: MainWindow, digits: Path, tmp_path: Path
) -> None:
    """Measure shift on a folder that does not exist, then on the right one: the banner no
    longer says the folder does not exist once the measurement runs."""
    run = tmp_path / "run"
    fit(
        Recipe(
            data_dir=str(digits),
            out_dir=str(run),
            epochs=1,
            backbone="tiny_cnn",
            image_size=16,
            batch_size=8,
        )
    )
    window.results_view.open_run(str(run))
    view = window.shift_view
    show_tab(qtbot, window, view)
    view.target.set_path(str(tmp_path / "no such folder"))
    with qtbot.waitSignal(view.failed, timeout=WAIT):
        qtbot.mouseClick(view.measure_button, Qt.MouseButton.LeftButton)
    assert "no such folder" in window.banner.label.text()
    view.target.set_path(str(digits / "val"))
    with qtbot.waitSignal(view.measured, timeout=60_000):
        qtbot.mouseClick(view.measure_button, Qt.MouseButton.LeftButton)
    assert not window.banner.isVisible()


def test_train_waits_while_a_comparison_runs(qtbot, settings_dir, tmp_path: Path) -> None:
    """Compare strategies… running (its dialog closed, it goes on), then Train: the window
    says a comparison is running instead of training beside it (the dialog refuses the
    other way round too)."""
    window = make_tiny_window(qtbot, tmp_path / "runs")
    window.show()
    data = write_class_folders(tmp_path / "data", {"round": 12, "square": 12}, size=16)
    scan(qtbot, window, data)
    qtbot.mouseClick(child(window, QPushButton, "compareButton"), Qt.MouseButton.LeftButton)
    dialog = window.findChild(CompareDialog, "compareDialog")
    dialog.findChild(QSpinBox, "compareFolds").setValue(3)
    qtbot.mouseClick(child(dialog, QPushButton, "compareRunButton"), Qt.MouseButton.LeftButton)
    assert dialog.is_running()
    dialog.close()
    qtbot.mouseClick(child(window, QPushButton, "startButton"), Qt.MouseButton.LeftButton)
    assert not window.controller.is_running()
    assert window.banner.isVisible() and "comparison" in window.banner.label.text()
    qtbot.mouseClick(child(dialog, QPushButton, "compareCancelButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=60_000)
    window.close()
