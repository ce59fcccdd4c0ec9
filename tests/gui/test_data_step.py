"""The Data tab after a scan (issue 12 item 11): per class how many images train and how many
validate, following the hold-out field, and a beginner's warning when the images are much
smaller than the image size."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from window_helpers import click_check_box, make_tiny_window, scan

from tests.imagefolders import write_class_folders
from tlstudio.gui import MainWindow


@pytest.fixture
def window(qtbot, settings_dir: Path, tmp_path: Path) -> MainWindow:
    window = make_tiny_window(qtbot, tmp_path / "runs")  # image size 16: the images' own
    window.show()
    scan(qtbot, window, write_class_folders(tmp_path / "data", {"red": 8, "blue": 4}, size=16))
    yield window
    window.close()


def type_into(qtbot, spin, text: str) -> None:
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)


def test_each_class_says_how_many_images_train_and_validate(qtbot, window: MainWindow) -> None:
    view = window.dataset_view
    def shown(name: str) -> str:
        return view.thumbnails.class_labels[name].text().replace("<br>", " ")

    assert "6 train 2 validate" in shown("red") and "3 train 1 validate" in shown("blue")
    assert view.chart.split == ({"red": 6, "blue": 3}, {"red": 2, "blue": 1})
    assert "20% of each class held out" in view.title.text()

    type_into(qtbot, window.data_panel.split_spin, "50")
    assert "4 train 4 validate" in shown("red")
    assert view.chart.split == ({"red": 4, "blue": 2}, {"red": 4, "blue": 2})
    assert view.chart.counts == {"red": 8, "blue": 4}  # the folder's own counts stay


def test_images_much_smaller_than_the_image_size_are_warned_about(
    qtbot, window: MainWindow
) -> None:
    warning = window.dataset_view.size_warning
    assert warning.isHidden()  # 16 px images at 16 px
    click_check_box(qtbot, window.form.show_all)  # step 4 holds the image size
    assert window.settings_panel.image_size.isVisible()
    type_into(qtbot, window.settings_panel.image_size, "64")
    assert warning.isVisible()
    assert "16 px" in warning.text() and "64 px" in warning.text()
    type_into(qtbot, window.settings_panel.image_size, "24")
    assert warning.isHidden()
