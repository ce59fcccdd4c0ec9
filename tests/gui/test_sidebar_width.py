"""The sidebar's steps fit beside the tabs at the window's usual size: no field, Browse button
or preset is cut off at the right (a seed spin box sized for 2**31 once pushed them out)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QScrollArea

from tlstudio.gui import MainWindow


@pytest.mark.parametrize("width", [1280, 1024])
def test_every_sidebar_step_fits_its_scroll_area(qtbot, tmp_path, monkeypatch, width) -> None:
    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(tmp_path / "settings"))
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(width, 760)
    window.show()
    qtbot.waitExposed(window)
    steps = window.findChild(QScrollArea, "stepsScroll")
    inner = steps.widget()
    qtbot.waitUntil(lambda: inner.width() > 0)
    assert inner.minimumSizeHint().width() <= steps.viewport().width()
    assert inner.width() <= steps.viewport().width()  # nothing hidden past the right edge
    window.close()
