"""The app's icon as a QIcon, from the files tlstudio.resources finds (SVG and PNG sizes)."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from tlstudio.resources import icon_files


def app_icon() -> QIcon:
    """Every PNG size of the icon in one QIcon, or the SVG if no PNG is found (a null icon if
    neither is): PNGs rendered per size stay sharp where a scaled SVG would blur."""
    files = icon_files()
    pngs = [p for p in files if p.suffix == ".png"]
    icon = QIcon()
    for path in pngs or files:
        icon.addFile(str(path))
    return icon
