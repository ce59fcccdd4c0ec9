"""Where the window keeps the user's settings."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings


def app_settings() -> QSettings:
    """The user's settings, or an ini file under $TLSTUDIO_SETTINGS_DIR (tests, scripts)."""
    folder = os.environ.get("TLSTUDIO_SETTINGS_DIR")
    if folder:
        return QSettings(str(Path(folder) / "tlstudio.ini"), QSettings.Format.IniFormat)
    return QSettings("tlstudio", "tlstudio")
