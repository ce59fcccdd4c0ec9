"""The export dialog's deploy choices: a file type picks format and quantization; the results
dialog lists the run's exports with their measurements and copies the usage example."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QPushButton, QTableWidget, QWidget
from tiny_runs import make_run

from tlstudio.export import export_run
from tlstudio.gui.export.export_dialog import Exporter

TIMEOUT = 120_000


@pytest.fixture
def run(tmp_path: Path, colour_data: Path) -> Path:
    return make_run(tmp_path / "run", colour_data, classes=("blue", "green", "red"))


def test_int8_file_type_exports_int8_and_shows_the_table_and_example(
    qtbot, run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_run(run, "onnx")  # an earlier export: the table puts them side by side
    parent = QWidget()
    qtbot.addWidget(parent)
    chosen = str(tmp_path / "phone" / "model")
    (tmp_path / "phone").mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(
        lambda *args: (chosen, "ONNX int8, smaller and faster (*.onnx)")))
    exporter = Exporter(parent)
    with qtbot.waitSignal(exporter.exported, timeout=TIMEOUT) as exported:
        exporter.ask_and_export(parent, str(run))
    result = exported.args[0]
    assert result.quantize == "int8" and result.path == chosen + ".onnx"
    dialog = exporter.results_dialog
    assert dialog is not None and dialog.isVisible()
    table = dialog.findChild(QTableWidget, "exportTable")
    rows = [table.item(i, 0).text() for i in range(table.rowCount())]
    assert rows == ["onnx int8", "onnx"]
    assert table.item(0, 7).text() == "passed" and table.item(0, 3).text() == "100.0%"
    dialog.findChild(QPushButton, "copyExample").click()
    copied = QGuiApplication.clipboard().text()
    assert copied == (tmp_path / "phone" / "example.py").read_text()
    assert "onnxruntime" in copied
