"""Export a finished run through the core's `export_run`, off the GUI thread.

The file dialog picks the format by its file type; the result says what was written and checked.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from tlstudio.export import FORMATS, ExportResult, export_run
from tlstudio.gui.shared.background import BackgroundJob, TaskState, error_message
from tlstudio.runs import RunFolder

FILTERS = {  # file dialog filter -> export format
    "ONNX model (*.onnx)": "onnx",
    "TorchScript model (*.pt)": "torchscript",
    "safetensors weights (*.safetensors)": "safetensors",
}
NO_RUN = "Train a model first: there is no finished run to export."
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt", "safetensors": ".safetensors"}


def format_for_path(path: str) -> str | None:
    suffix = Path(path).suffix.lower()
    return next((fmt for fmt, s in SUFFIXES.items() if s == suffix), None)


def export_job(_state: TaskState, run_dir: str, fmt: str, path: str) -> ExportResult:
    return export_run(run_dir, fmt, path)


def describe_result(result: ExportResult) -> str:
    check = (f"check passed (max difference {result.max_abs_diff:.2g})"
             if result.checked and result.max_abs_diff is not None else
             "check passed" if result.checked else "not checked")
    return f"Exported {result.format} to {result.path}: {check}."


def default_export_path(run_dir: str) -> str:
    """The run's own export file; its folder is made now, so that the dialog opens there
    instead of in the last folder browsed (one Enter wrote a model into a dataset)."""
    default = RunFolder.at(run_dir).export_file(FORMATS["onnx"].suffix)
    try:
        default.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return str(Path(run_dir) / default.name)  # a read-only run: still its folder
    return str(default)


def finished_box(result: ExportResult, parent: QWidget) -> QMessageBox:
    """What was written and checked, with "Show in folder" and "Copy path"."""
    box = QMessageBox(QMessageBox.Icon.Information, "Export finished", describe_result(result),
                      parent=parent)
    box.setObjectName("exportFinished")
    box.setInformativeText(result.message)
    path = str(result.path)
    show = box.addButton("Show in folder", QMessageBox.ButtonRole.ActionRole)
    show.setObjectName("showInFolderButton")
    copy = box.addButton("Copy path", QMessageBox.ButtonRole.ActionRole)
    copy.setObjectName("copyPathButton")
    box.addButton(QMessageBox.StandardButton.Close)
    # Action buttons close the box after their click, which is what a user expects here.
    show.clicked.connect(lambda: QDesktopServices.openUrl(
        QUrl.fromLocalFile(str(Path(path).parent))))
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(path))
    return box


class Exporter(QObject):
    """Runs one export at a time; `exported(ExportResult)` or `failed(message)`."""

    started = Signal(str)
    exported = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job = BackgroundJob(self)
        self._job.returned.connect(self._on_exported)
        self._job.errored.connect(self._on_failed)
        self._box_parent: QWidget | None = None
        self.finished_box: QMessageBox | None = None  # the last export's result box

    def is_busy(self) -> bool:
        return self._job.is_running()

    def export(self, run_dir: str | None, path: str, fmt: str | None = None) -> bool:
        """Start exporting `run_dir` to `path`; the format follows the suffix unless given.
        Without a run (None) `failed` says to train one first."""
        if run_dir is None:
            self.failed.emit(NO_RUN)
            return False
        fmt = fmt or format_for_path(path)
        if fmt is None:
            self.failed.emit(f"Cannot tell the export format of '{path}': use a file name "
                             "ending in .onnx, .pt or .safetensors")
            return False
        if self._job.is_running():
            return False
        self.started.emit(path)
        self._job.start(export_job, run_dir, fmt, path)
        return True

    def ask_and_export(self, parent: QWidget, run_dir: str | None) -> None:
        """The interactive path: a save dialog, then the export; a box reports the result."""
        if run_dir is None:
            self.failed.emit(NO_RUN)
            return
        path, chosen = QFileDialog.getSaveFileName(parent, "Export model",
                                                   default_export_path(run_dir),
                                                   ";;".join(FILTERS))
        if not path:
            return
        fmt = format_for_path(path) or FILTERS.get(chosen, "onnx")
        if format_for_path(path) is None:
            path += SUFFIXES[fmt]
        if self.export(run_dir, path, fmt):
            self._box_parent = parent

    def _on_exported(self, result: ExportResult) -> None:
        if self._box_parent is not None:
            self.finished_box = finished_box(result, self._box_parent)
            self.finished_box.open()  # not exec(): nothing waits on it
            self._box_parent = None
        self.exported.emit(result)

    def _on_failed(self, error: Exception) -> None:
        self._box_parent = None
        self.failed.emit(error_message(error))

    def cancel(self) -> None:
        self._job.cancel()
