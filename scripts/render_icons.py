"""Render the app icon's PNG sizes from resources/tlstudio.svg (run after editing the SVG).

    python scripts/render_icons.py

Writes resources/icons/hicolor/NxN/apps/tlstudio.png for each size in tlstudio.resources, the
freedesktop icon-theme layout that the package installs under share/icons.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from tlstudio.resources import ICON_SIZES, SOURCE_RESOURCES, SVG_ICON, png_icon_path


def render(svg: Path, size: int, dest: Path) -> None:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"error: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(dest), "PNG"):
        raise SystemExit(f"error: cannot write {dest}")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QImage needs it
    svg = SOURCE_RESOURCES / SVG_ICON
    for size in ICON_SIZES:
        dest = SOURCE_RESOURCES / png_icon_path(size)
        render(svg, size, dest)
        print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
