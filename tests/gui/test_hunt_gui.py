"""Faults a user hit clicking through the Runs, Domain shift and Compare parts of the window:
each ends in a readable message and a state that matches what is on screen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tlstudio.gui import MainWindow

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
