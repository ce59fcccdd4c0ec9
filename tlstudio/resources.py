"""Where the app's own files are: its icon (SVG and PNG sizes), the freedesktop .desktop file and
the AppStream metadata, in a source checkout (top-level resources/) and once installed.

A wheel installs them under share/ in the freedesktop layout (see pyproject.toml's data-files),
so a Linux desktop finds them too; the window finds them here, wherever that is.
"""

from __future__ import annotations

import site
import sys
import sysconfig
from pathlib import Path

APP_ID = "io.github.tlstudio.tlstudio"  # reverse-DNS id: .desktop and AppStream file names
ICON_NAME = "tlstudio"  # the icon-theme name the .desktop file and the window use
ICON_SIZES = (16, 32, 48, 64, 128, 256)  # PNGs rendered by scripts/render_icons.py
SVG_ICON = Path("icons/hicolor/scalable/apps") / f"{ICON_NAME}.svg"
DESKTOP_FILE = Path("applications") / f"{APP_ID}.desktop"
METAINFO_FILE = Path("metainfo") / f"{APP_ID}.metainfo.xml"
# The checkout's resources/ (also where an editable install finds them).
SOURCE_RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def png_icon_path(size: int) -> Path:
    """The icon of ``size`` pixels, relative to a resources root (the hicolor theme layout)."""
    return Path(f"icons/hicolor/{size}x{size}/apps/{ICON_NAME}.png")


def resource_roots() -> list[Path]:
    """Folders that may hold the files, checkout first, then the installed share/ folders."""
    prefixes = [sysconfig.get_path("data"), sys.prefix, site.USER_BASE]
    shares = [Path(p) / "share" for p in dict.fromkeys(prefixes) if p]
    return [SOURCE_RESOURCES, *shares]


def find_resource(relative: str | Path, roots: list[Path] | None = None) -> Path | None:
    """The first existing ``relative`` file under ``roots`` (default: `resource_roots`)."""
    for root in resource_roots() if roots is None else roots:
        if (root / relative).is_file():
            return root / relative
    return None


def icon_files(roots: list[Path] | None = None) -> list[Path]:
    """The icon's files that exist: the SVG, then each PNG size (empty if none is found)."""
    found = [find_resource(p, roots) for p in (SVG_ICON, *map(png_icon_path, ICON_SIZES))]
    return [p for p in found if p is not None]
