"""Export a finished run through the core's `export_run`, off the GUI thread.

The file dialog picks the format by its file type; the result says what was written and checked.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from tlstudio.export import FORMATS, ExportResult, export_run
from tlstudio.gui.shared.background import BackgroundTask, TaskRunner, TaskState
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


class Exporter(QObject):
    """Runs one export at a time; `exported(ExportResult)` or `failed(message)`."""

    started = Signal(str)
    exported = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = TaskRunner(self)
        self._task: BackgroundTask | None = None
        self._box_parent: QWidget | None = None

    def is_busy(self) -> bool:
        return self._task is not None

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
        if self._task is not None:
            return False
        self._task = BackgroundTask(export_job, run_dir, fmt, path)
        self._task.signals.returned.connect(self._on_exported)
        self._task.signals.errored.connect(self._on_failed)
        self.started.emit(path)
        self._runner.start(self._task)
        return True

    def ask_and_export(self, parent: QWidget, run_dir: str | None) -> None:
        """The interactive path: a save dialog, then the export; a box reports the result."""
        if run_dir is None:
            self.failed.emit(NO_RUN)
            return
        default = str(RunFolder.at(run_dir).export_file("onnx", FORMATS["onnx"].suffix))
        path, chosen = QFileDialog.getSaveFileName(parent, "Export model", default,
                                                   ";;".join(FILTERS))
        if not path:
            return
        fmt = format_for_path(path) or FILTERS.get(chosen, "onnx")
        if format_for_path(path) is None:
            path += SUFFIXES[fmt]
        if self.export(run_dir, path, fmt):
            self._box_parent = parent

    def _on_exported(self, result: ExportResult) -> None:
        self._task = None
        if self._box_parent is not None:
            box = QMessageBox(QMessageBox.Icon.Information, "Export finished",
                              describe_result(result), parent=self._box_parent)
            box.setInformativeText(result.message)
            box.open()  # not exec(): nothing waits on it
            self._box_parent = None
        self.exported.emit(result)

    def _on_failed(self, message: str) -> None:
        self._task = None
        self._box_parent = None
        self.failed.emit(message)

    def cancel(self) -> None:
        self._runner.cancel_all()
