"""The Data tab lists every file the scan passed over, names that are not UTF-8 included."""

from __future__ import annotations

import os
from pathlib import Path

from window_helpers import choose_data

from tlstudio.gui import MainWindow


def test_broken_links_are_listed_with_undecodable_bytes_escaped(qtbot, window: MainWindow,
                                                                 digits: Path) -> None:
    os.symlink("nowhere.png", os.fsencode(digits / "train" / "3") + b"/gone\xff.png")
    choose_data(qtbot, window, digits)
    table = window.dataset_view.skipped
    rows = {(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())}
    assert ("3/gone\\xff.png", "broken link (its target 'nowhere.png' does not exist)") in rows
