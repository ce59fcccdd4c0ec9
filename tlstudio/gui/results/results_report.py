"""The Results tab's report line: writes the HTML report off the GUI thread and then says
where it went, with a link and an Open button."""

from __future__ import annotations

from PySide6.QtCore import QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from tlstudio.evaluation import RunEvaluation
from tlstudio.gui.results.results_jobs import report_job
from tlstudio.gui.shared.background import BackgroundTask, TaskRunner


class ReportBar(QWidget):
    """One report at a time; `written(path)` or `failed(message)` when it is done."""

    written = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(objectName="reportLabel", openExternalLinks=True)
        self.open_button = QPushButton("Open", objectName="openReportButton")
        self.open_button.setToolTip("Open the report in the web browser")
        self.open_button.clicked.connect(self.open_report)
        self.open_button.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.open_button)
        self.path: str | None = None
        self._runner = TaskRunner(self)
        self._task: BackgroundTask | None = None

    def is_busy(self) -> bool:
        return self._task is not None

    def write(self, run_dir: str, path: str, data_dir: str | None,
              evaluation: RunEvaluation | None) -> bool:
        """Start writing the report of `run_dir` (on `data_dir`, if given) to `path`."""
        if self._task is not None:
            return False
        self._task = BackgroundTask(report_job, run_dir, path, data_dir, evaluation)
        self._task.signals.returned.connect(self._on_written)
        self._task.signals.errored.connect(self._on_failed)
        self.label.setText(f"Writing the report to {path}…")
        self.open_button.hide()
        self._runner.start(self._task)
        return True

    def _is_current(self) -> bool:
        return self._task is not None and self.sender() is self._task.signals

    @Slot(object)
    def _on_written(self, path: str) -> None:
        if not self._is_current():
            return
        self._task, self.path = None, path
        url = QUrl.fromLocalFile(path).toString()
        self.label.setText(f'Report written to <a href="{url}">{path}</a>')
        self.open_button.show()
        self.written.emit(path)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if not self._is_current():
            return
        self._task = None
        self.label.clear()
        self.failed.emit(f"The report could not be written: {message}")

    def open_report(self) -> None:
        if self.path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.path))

    def clear(self) -> None:
        """Forget the last report (another run is shown); one being written is dropped."""
        self._runner.cancel_all()
        self._task, self.path = None, None
        self.label.clear()
        self.open_button.hide()
