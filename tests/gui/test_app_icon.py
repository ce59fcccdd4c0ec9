"""The window shows the app's icon, at every size it ships."""

from __future__ import annotations

from PySide6.QtCore import QSize

from tlstudio.gui import MainWindow
from tlstudio.resources import ICON_SIZES


def test_the_window_has_the_app_icon(qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TLSTUDIO_SETTINGS_DIR", str(tmp_path / "settings"))
    window = MainWindow()
    qtbot.addWidget(window)
    icon = window.windowIcon()
    assert not icon.isNull()
    assert {QSize(s, s) for s in ICON_SIZES} <= set(icon.availableSizes())
    assert icon.pixmap(QSize(48, 48)).toImage().pixelColor(24, 24).alpha() == 255
