"""The Domain shift tab on a real tiny run and a strongly shifted copy of its images: Measure
shift gives the verdict, the confidences, the class shares and the map, and a clicked dot
shows its image; a folder without images is a message, not a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from imagefolders import strongly_shifted, train_tiny_run
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QLineEdit, QPushButton, QTabBar
from window_helpers import child

from tlstudio.gui import MainWindow

WAIT = 60_000


@pytest.fixture(scope="module")
def run_and_night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("shiftview")
    run, data = train_tiny_run(base, {"red": 8, "green": 8, "blue": 8})
    return run, strongly_shifted(data, base / "night")


def open_shift_tab(qtbot, window: MainWindow, run: Path):
    window.show()
    with qtbot.waitSignal(window.results_view.runOpened, timeout=WAIT):
        assert window.results_view.open_run(str(run))
    bar = window.tabs.findChild(QTabBar)
    index = next(i for i in range(bar.count()) if bar.tabText(i) == "Domain shift")
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    view = window.tabs.currentWidget()
    assert view.objectName() == "domainShift"
    return view


def measure(qtbot, window: MainWindow, folder: Path) -> None:
    edit = child(window, QLineEdit, "shiftTargetEdit")
    edit.clear()
    qtbot.keyClicks(edit, str(folder))
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.mouseClick(child(window, QPushButton, "measureShiftButton"), Qt.MouseButton.LeftButton)


def loneliest(view, domain: str) -> int:
    """The index of the `domain` dot farthest (in pixels) from any other dot: a click on it
    can only mean it."""
    vb = view.map.getPlotItem().getViewBox()
    xy = np.array(
        [
            view.map.mapFromScene(vb.mapViewToScene(QPointF(p.x, p.y))).toTuple()
            for p in view.shift.points
        ],
        dtype=float,
    )
    distances = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(len(xy)) * 1e9
    candidates = [i for i, p in enumerate(view.shift.points) if p.domain == domain]
    return max(candidates, key=lambda i: distances[i].min())


def click_dot(qtbot, view, index: int) -> None:
    vb = view.map.getPlotItem().getViewBox()
    point = view.shift.points[index]
    pos = view.map.mapFromScene(vb.mapViewToScene(QPointF(point.x, point.y)))
    qtbot.mouseClick(view.map.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_measure_shift_shows_the_verdict_the_map_and_a_clicked_image(
    qtbot, window: MainWindow, run_and_night: tuple[Path, Path]
) -> None:
    run, night = run_and_night
    view = open_shift_tab(qtbot, window, run)
    window.resize(1280, 800)
    with qtbot.waitSignal(view.measured, timeout=WAIT) as measured:
        measure(qtbot, window, night)
    shift = measured.args[0]
    assert shift.domain_accuracy > 0.9
    assert "Domain accuracy" in view.verdict.text() and "a strong shift" in view.verdict.text()
    assert view.verdict.isVisible()
    assert f"{shift.target_confidence:.0%} on the target images" in view.confidence.text()
    assert [row[0] for row in view.classes.rows] == ["blue", "green", "red"]
    night_images = sorted(str(p) for p in night.iterdir())
    shown = view.map.scatters["target"].data
    assert len(shown) == len(night_images) == 24
    assert len(view.map.scatters["source"].data) == shift.source_images

    for domain in ("target", "source"):
        index = loneliest(view, domain)
        point = shift.points[index]
        click_dot(qtbot, view, index)
        caption = view.point.caption.text()
        assert point.path in caption and f"<b>{point.predicted}</b>" in caption
        assert ("Target image" in caption) == (domain == "target")
        qtbot.waitUntil(lambda: not view.point.picture.pixmap().isNull(), timeout=WAIT)
    assert point.path not in night_images and point.true in caption  # a training image


def test_a_folder_without_images_is_a_message(
    qtbot, window: MainWindow, run_and_night, tmp_path: Path
) -> None:
    view = open_shift_tab(qtbot, window, run_and_night[0])
    empty = tmp_path / "empty"
    empty.mkdir()
    with qtbot.waitSignal(view.failed, timeout=WAIT) as failed:
        measure(qtbot, window, empty)
    assert "Traceback" not in failed.args[0]
    assert window.banner.isVisible() and window.banner.label.text() == failed.args[0]
    assert view.shift is None and not view.map.scatters["target"].data.size


def test_before_a_measurement_the_tab_says_what_to_do_instead_of_empty_plots(
    qtbot, window: MainWindow, run_and_night: tuple[Path, Path]
) -> None:
    run, night = run_and_night
    window.show()
    bar = window.tabs.findChild(QTabBar)
    index = next(i for i in range(bar.count()) if bar.tabText(i) == "Domain shift")
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    view = window.tabs.currentWidget()
    note = view.empty_note
    assert note.isVisible() and not view.map.isVisible() and not view.classes.isVisible()
    assert note.text().startswith("Train a run or open one (File > Open run…)")
    view = open_shift_tab(qtbot, window, run)
    assert note.isVisible() and note.text().startswith("Choose the folder of target images")
    with qtbot.waitSignal(view.measured, timeout=WAIT):
        measure(qtbot, window, night)
    assert view.map.isVisible() and view.classes.isVisible() and not note.isVisible()
