"""Step 2's weight download: progress, Cancel, and a cancelled download never counted as
done (the download itself is faked: no network in tests)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from tlstudio.gui.shared.background import jobs_in_flight
from tlstudio.gui.sidebar import backbone_panel
from tlstudio.gui.sidebar.backbone_panel import BackbonePanel
from tlstudio.models.catalog import backbone_rows

WAIT = 10_000
MB = 1_000_000


@pytest.fixture
def panel(qtbot, monkeypatch: pytest.MonkeyPatch):
    rows = [dict(row) for row in backbone_rows()]
    for row in rows:  # whatever this computer has cached, these must be downloaded
        if row["name"] in ("resnet18", "resnet34"):
            row["weights"] = "download"
    monkeypatch.setattr(backbone_panel, "backbone_rows", lambda: rows)
    panel = BackbonePanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    yield panel
    panel.cancel()


def fake_download(release: threading.Event, downloaded: list[str]):
    def download(spec, progress, cancelled) -> str:
        progress(1 * MB, 4 * MB)
        release.wait(WAIT / 1000)
        if not cancelled():
            downloaded.append(spec.name)
        progress(4 * MB, 4 * MB)
        return f"/cache/{spec.name}.pth"
    return download


def test_a_cancelled_download_is_not_counted_and_a_finished_one_is(qtbot, panel,
                                                                  monkeypatch) -> None:
    release, downloaded = threading.Event(), []
    monkeypatch.setattr(backbone_panel, "download_weights", fake_download(release, downloaded))
    assert panel.set_backbone("resnet18")
    assert panel.download_button.isVisibleTo(panel)
    qtbot.mouseClick(panel.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.download_progress.format() == "1 / 4 MB", timeout=WAIT)
    assert panel.cancel_button.isVisibleTo(panel)
    assert not panel.download_button.isVisibleTo(panel)

    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    release.set()
    qtbot.waitUntil(lambda: not jobs_in_flight(), timeout=WAIT)  # the job ended, unheard
    assert panel.rows["resnet18"]["weights"] == "download"
    assert panel.download_progress.format() == "1 / 4 MB"  # its last progress was dropped
    assert panel.download_button.isVisibleTo(panel)
    assert not panel.cancel_button.isVisibleTo(panel)
    assert downloaded == []

    qtbot.mouseClick(panel.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.rows["resnet18"]["weights"] == "cached", timeout=WAIT)
    assert downloaded == ["resnet18"]
    assert "cached" in panel.combo.currentText()
    assert not panel.download_button.isVisibleTo(panel)


def test_choosing_another_backbone_cancels_the_download(qtbot, panel, monkeypatch) -> None:
    release, downloaded = threading.Event(), []
    monkeypatch.setattr(backbone_panel, "download_weights", fake_download(release, downloaded))
    panel.set_backbone("resnet18")
    qtbot.mouseClick(panel.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.download_progress.format() == "1 / 4 MB", timeout=WAIT)
    panel.set_backbone("resnet34")  # its own weights are still to download
    release.set()
    qtbot.waitUntil(lambda: not jobs_in_flight(), timeout=WAIT)
    assert panel.rows["resnet18"]["weights"] == "download"
    assert panel.rows["resnet34"]["weights"] == "download"
    assert panel.download_button.isVisibleTo(panel)
