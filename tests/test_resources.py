"""The app's icon, launcher and metadata: present in the checkout, mapped into the wheel, found
once installed, and consistent with each other and with pyproject.toml."""

from __future__ import annotations

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

import tomllib
from PIL import Image

from tlstudio import resources
from tlstudio.resources import (
    APP_ID,
    DESKTOP_FILE,
    ICON_NAME,
    ICON_SIZES,
    METAINFO_FILE,
    SOURCE_RESOURCES,
    SVG_ICON,
    find_resource,
    icon_files,
    png_icon_path,
)

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_icon_size_is_a_square_png_rendered_from_the_svg() -> None:
    found = icon_files()
    assert found[0] == SOURCE_RESOURCES / SVG_ICON
    assert len(found) == 1 + len(ICON_SIZES)
    for size, path in zip(ICON_SIZES, found[1:], strict=True):
        with Image.open(path) as image:
            assert (image.format, image.size, image.mode) == ("PNG", (size, size), "RGBA")
            assert image.getpixel((0, 0))[3] == 0  # transparent corners: a rounded tile
            assert image.getpixel((size // 2, size // 2))[3] == 255


def test_the_wheel_maps_every_resource_to_share() -> None:
    data_files = PYPROJECT["tool"]["setuptools"]["data-files"]
    mapped = {path for patterns in data_files.values() for pattern in patterns
              for path in ROOT.glob(pattern)}
    on_disk = {p for p in SOURCE_RESOURCES.rglob("*") if p.is_file()}
    assert mapped == on_disk
    for dest, patterns in data_files.items():  # share/X holds what resources/X holds
        for pattern in patterns:
            assert Path(pattern).parent == Path("resources") / Path(dest).relative_to("share")


def test_installed_files_are_found_under_share(tmp_path: Path, monkeypatch) -> None:
    share = tmp_path / "share"
    for relative in (SVG_ICON, png_icon_path(32), DESKTOP_FILE):
        (share / relative).parent.mkdir(parents=True, exist_ok=True)
        (share / relative).write_bytes(b"x")
    roots = [tmp_path / "no-checkout", share]
    assert icon_files(roots) == [share / SVG_ICON, share / png_icon_path(32)]
    assert find_resource(DESKTOP_FILE, roots) == share / DESKTOP_FILE
    assert find_resource(METAINFO_FILE, roots) is None
    monkeypatch.setattr(resources.sys, "prefix", str(tmp_path))  # where a wheel puts share/
    assert resources.resource_roots()[0] == SOURCE_RESOURCES and share in resources.resource_roots()


def test_the_launcher_metadata_and_entry_points_agree() -> None:
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str  # keys are case-sensitive
    desktop.read(SOURCE_RESOURCES / DESKTOP_FILE, encoding="utf-8")
    entry = desktop["Desktop Entry"]
    assert entry["Icon"] == ICON_NAME and entry["Type"] == "Application"
    assert entry["Exec"].split()[0] in PYPROJECT["project"]["gui-scripts"]
    meta = ET.parse(SOURCE_RESOURCES / METAINFO_FILE).getroot()
    assert meta.findtext("id") == APP_ID
    assert meta.findtext("launchable") == DESKTOP_FILE.name
    assert meta.findtext("icon") == ICON_NAME
    assert meta.findtext("project_license") == PYPROJECT["project"]["license"] == "MIT"
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
