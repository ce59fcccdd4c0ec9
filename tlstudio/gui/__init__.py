"""The desktop window: the only package that imports Qt. `run_app` opens it."""

from __future__ import annotations

import sys

from tlstudio.gui.main_window import MainWindow
from tlstudio.gui.shared.app_icon import app_icon
from tlstudio.resources import APP_ID

__all__ = ["MainWindow", "run_app"]


def run_app(demo: bool = False) -> int:
    """Open the window (demo data and backbone chosen if `demo`); return the exit code."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("tlstudio")
    app.setOrganizationName("tlstudio")
    app.setDesktopFileName(APP_ID)  # Wayland matches the window to the installed .desktop file
    app.setWindowIcon(app_icon())
    from tlstudio.gui.shared.gui_garbage import collect_garbage_in_gui_thread

    collector = collect_garbage_in_gui_thread()  # noqa: F841 - kept alive while the app runs
    window = MainWindow()
    if demo:
        window.load_demo()
    window.show()
    return app.exec()
