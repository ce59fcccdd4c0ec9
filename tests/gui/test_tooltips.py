"""A tooltip on every control (issue 12 item 12): every visible input says what it does and its
default; every button says what it does; a disabled control says why (or when it works).

Walked on every tab, with "Show all settings" and Advanced open, before any data and after a
run, so the controls that only appear then are checked too."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QRadioButton,
    QSlider,
    QTabBar,
    QToolButton,
    QWidget,
)
from window_helpers import click_check_box, make_tiny_window, scan

from tests.imagefolders import write_class_folders
from tlstudio.gui import MainWindow

INPUTS = (QLineEdit, QAbstractSpinBox, QComboBox, QCheckBox, QRadioButton, QSlider)
# Not checked: Qt's own parts (the tab bar's scroll arrows, a spin box's or combo's inner
# editor, a line edit's clear button); they belong to a control that is checked.
INNER = (QAbstractSpinBox, QComboBox, QTabBar, QLineEdit)


def missing_tooltips(window: MainWindow) -> list[str]:
    """'where: what is wrong' for each visible control of every tab without a fitting tip."""
    problems = []
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        QApplication.processEvents()
        tab = window.tabs.tabText(index)
        for widget in window.findChildren(QWidget):
            if not widget.isVisible() or widget.objectName().startswith("qt_"):
                continue
            if isinstance(widget.parent(), INNER):
                continue
            if not isinstance(widget, INPUTS + (QAbstractButton,)):
                continue
            text = widget.text() if isinstance(widget, QAbstractButton) else ""
            name = f"{tab}: {type(widget).__name__} {widget.objectName() or text}"
            tip = widget.toolTip()
            if isinstance(widget, INPUTS):
                if widget.isEnabled() and "default" not in tip.lower():
                    problems.append(f"{name}: no default in {tip!r}")
                elif not tip:
                    problems.append(f"{name}: disabled without a reason")
            elif len(tip) < 12:
                problems.append(f"{name}: says nothing in {tip!r}")  # what it does, or why not
    return problems


@pytest.fixture
def window(qtbot, settings_dir: Path, tmp_path: Path) -> MainWindow:
    window = make_tiny_window(qtbot, tmp_path / "runs")
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def test_every_control_says_what_it_does_and_its_default(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    click_check_box(qtbot, window.form.show_all)
    for toggle in ("advancedToggle", "targetToggle"):  # the sections that open on a click
        qtbot.mouseClick(window.findChild(QToolButton, toggle), Qt.MouseButton.LeftButton)
    assert window.findChild(QWidget, "targetFolderEdit").isVisible()
    assert window.settings_panel.image_size.isVisible()
    assert window.advanced_panel.controls["optimizer"].isVisible()
    assert missing_tooltips(window) == []

    scan(qtbot, window, write_class_folders(tmp_path / "data", {"red": 6, "blue": 6}))
    train = window.start_button
    assert train.isEnabled() and "Ctrl+Enter" in train.toolTip()
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        qtbot.mouseClick(train, Qt.MouseButton.LeftButton)
    # The gallery's images of the run: the load EvaluationFeed starts on `finished` (one
    # started at the last epoch's end may be what arrives first, and the gallery changes again).
    qtbot.waitUntil(lambda: not window.evaluations.busy() and window.gallery.model.rowCount() > 0,
                    timeout=30_000)
    window.gallery.view.setCurrentIndex(window.gallery.model.index(0, 0))
    assert missing_tooltips(window) == []


def test_a_disabled_train_button_says_why(qtbot, window: MainWindow) -> None:
    assert not window.start_button.isEnabled()
    assert "training folder" in window.start_button.toolTip()
    assert "once" in window.training_view.export_button.toolTip()  # export waits for a model
