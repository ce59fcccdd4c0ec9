"""Step 1's scan in the background: a folder chosen while another is being scanned replaces
it, and only the last folder's scan reaches the window."""

from __future__ import annotations

import threading
from pathlib import Path

from imagefolders import write_class_folders

from tlstudio.gui.shared.background import jobs_in_flight
from tlstudio.gui.sidebar import data_panel
from tlstudio.gui.sidebar.data_panel import DataPanel

WAIT = 10_000


def test_a_new_folder_replaces_the_scan_in_flight(qtbot, tmp_path: Path, monkeypatch) -> None:
    first = write_class_folders(tmp_path / "first", {"cats": 2, "dogs": 2})
    second = write_class_folders(tmp_path / "second", {"ants": 2, "bees": 2, "wasps": 2})
    release = threading.Event()
    real_scan = data_panel.scan_folder

    def slow_first(root, **kwargs):
        if Path(root) == first:
            release.wait(WAIT / 1000)  # the user picks another folder meanwhile
        return real_scan(root, **kwargs)

    monkeypatch.setattr(data_panel, "scan_folder", slow_first)
    panel = DataPanel()
    qtbot.addWidget(panel)
    scans = []
    panel.scanned.connect(scans.append)
    panel.set_folders(str(first))
    assert panel.is_scanning() and panel.summary.text() == "Scanning…"
    with qtbot.waitSignal(panel.scanned, timeout=WAIT):
        panel.set_folders(str(second))
    release.set()
    qtbot.waitUntil(lambda: not jobs_in_flight(), timeout=WAIT)  # the first scan has ended
    assert [scan.train.classes for scan in scans] == [("ants", "bees", "wasps")]
    assert panel.data is scans[0] and not panel.is_scanning()
    assert panel.summary.text().startswith("3 classes, 6 images")
