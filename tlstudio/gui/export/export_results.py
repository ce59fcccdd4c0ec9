"""After an export: the run's exports side by side (size, latency, agreement, accuracy, check),
and the usage example written beside the new one, with a Copy button."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tlstudio.export import COLUMNS, ExportResult, table_rows
from tlstudio.runs import read_export_records
from tlstudio.runs.folder import EXPORT_EXAMPLES


class ExportResultsDialog(QDialog):
    """The measurements of every export of the run (the newest first) and example.py."""

    def __init__(self, result: ExportResult, run_dir: str | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportResults")
        self.setWindowTitle("Export finished")
        self.summary = QLabel(result.message, wordWrap=True)
        self.table = QTableWidget(objectName="exportTable")
        self._fill(result, run_dir)
        example = Path(result.path).parent / EXPORT_EXAMPLES["python"]
        self.example = QPlainTextEdit(objectName="exportExample", readOnly=True)
        self.example.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.example.setPlainText(example.read_text(encoding="utf-8") if example.is_file() else "")
        self.copy_button = QPushButton("Copy example", objectName="copyExample")
        self.copy_button.clicked.connect(self.copy_example)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        path = str(result.path)
        show = buttons.addButton("Show in folder", QDialogButtonBox.ButtonRole.ActionRole)
        show.setObjectName("showInFolderButton")
        show.clicked.connect(lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(Path(path).parent))))
        copy = buttons.addButton("Copy path", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setObjectName("copyPathButton")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(path))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addWidget(QLabel(f"Usage ({example.name}, beside the model):"))
        layout.addWidget(self.example)
        layout.addWidget(self.copy_button)
        layout.addWidget(buttons)
        self.resize(820, 560)

    def _fill(self, result: ExportResult, run_dir: str | None) -> None:
        others = [SimpleNamespace(**r) for r in read_export_records(run_dir).values()
                  if run_dir and r.get("path") != result.path] if run_dir else []
        rows = table_rows([result, *others])
        self.table.setColumnCount(len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def copy_example(self) -> None:
        QGuiApplication.clipboard().setText(self.example.toPlainText())
