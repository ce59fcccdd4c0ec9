"""The Results tab's report line: writes the HTML report off the GUI thread and then says
where it went, with a link and an Open button."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from tlstudio.evaluation import RunEvaluation
from tlstudio.gui.results.results_jobs import report_job
from tlstudio.gui.shared.background import BackgroundJob, error_message


class ReportBar(QWidget):
    """One report at a time; `written(path)` or `failed(message)` when it is done."""

    written = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(objectName="reportLabel", openExternalLinks=True)
        # A long path must not set the window's minimum width (it could not shrink below
        # ~1,100 px after Report…): the label gives way, the full path is in its tooltip.
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.open_button = QPushButton("Open", objectName="openReportButton")
        self.open_button.setToolTip("Open the report in the web browser")
        self.open_button.clicked.connect(self.open_report)
        self.open_button.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.open_button)
        self.path: str | None = None
        self._job = BackgroundJob(self)
        self._job.returned.connect(self._on_written)
        self._job.errored.connect(self._on_failed)

    def is_busy(self) -> bool:
        return self._job.is_running()

    def write(self, run_dir: str, path: str, data_dir: str | None,
              evaluation: RunEvaluation | None) -> bool:
        """Start writing the report of `run_dir` (on `data_dir`, if given) to `path`."""
        if self._job.is_running():
            return False
        self.label.setText(f"Writing the report {Path(path).name}…")
        self.label.setToolTip(path)
        self.open_button.hide()
        self._job.start(report_job, run_dir, path, data_dir, evaluation)
        return True

    @Slot(object)
    def _on_written(self, path: str) -> None:
        self.path = path
        url = QUrl.fromLocalFile(path).toString()
        self.label.setText(f'Report written: <a href="{url}">{Path(path).name}</a>')
        self.label.setToolTip(path)
        self.open_button.show()
        self.written.emit(path)

    @Slot(object)
    def _on_failed(self, error: Exception) -> None:
        self.label.clear()
        self.failed.emit(f"The report could not be written: {error_message(error)}")

    def open_report(self) -> None:
        if self.path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.path))

    def clear(self) -> None:
        """Forget the last report (another run is shown); one being written is dropped."""
        self._job.cancel()
        self.path = None
        self.label.clear()
        self.open_button.hide()
