"""The Results tab at 1024x700 (issue 12 bug 6): the metrics table keeps every column in view,
beside the matrix when both fit and below it when they do not; the matrix keeps its cells."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from window_helpers import make_tiny_window

from tests.imagefolders import train_tiny_run

TIMEOUT = 60_000


def whole_table_in_view(view) -> bool:
    area, table = view.table_area, view.table
    return area.viewport().width() >= table.minimumWidth() - 2 and not (
        area.horizontalScrollBar().isVisible()
    )


def test_the_metrics_table_is_never_cut_off_at_the_right(
    qtbot, settings_dir: Path, tmp_path: Path
) -> None:
    run, _ = train_tiny_run(tmp_path, {f"class {i}": 3 for i in range(10)})
    window = make_tiny_window(qtbot, tmp_path / "runs")
    window.resize(1600, 900)
    window.show()
    qtbot.waitExposed(window)
    view = window.results_view
    with qtbot.waitSignal(view.evaluationShown, timeout=TIMEOUT):
        assert view.open_run(str(run))
    qtbot.waitUntil(lambda: whole_table_in_view(view))
    assert view.figures.orientation() == Qt.Orientation.Horizontal  # room for both side by side

    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024)
    qtbot.waitUntil(lambda: whole_table_in_view(view))
    assert view.figures.orientation() == Qt.Orientation.Vertical  # the table went below
    matrix = view.matrix_area
    assert matrix.viewport().width() >= view.matrix.minimumSizeHint().width() - 2

    window.resize(1600, 900)  # and back beside the matrix when the window grows again
    qtbot.waitUntil(lambda: view.figures.orientation() == Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: whole_table_in_view(view))
    window.close()
