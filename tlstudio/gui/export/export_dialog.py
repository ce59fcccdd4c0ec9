"""Export a finished run through the core's `export_run`, off the GUI thread.

The file dialog picks the format (and quantization) by its file type; the result dialog shows
what was written, checked and measured, and how to use it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from tlstudio.export import FORMATS, ExportResult, export_run
from tlstudio.gui.export.export_results import ExportResultsDialog
from tlstudio.gui.shared.background import BackgroundJob, TaskState, error_message
from tlstudio.runs import RunFolder

FILTERS = {  # file dialog filter -> (export format, quantization)
    "ONNX model (*.onnx)": ("onnx", None),
    "ONNX int8, smaller and faster (*.onnx)": ("onnx", "int8"),
    "ONNX fp16, half the size (*.onnx)": ("onnx", "fp16"),
    "TorchScript model (*.pt)": ("torchscript", None),
    "safetensors weights (*.safetensors)": ("safetensors", None),
    "OpenVINO IR (*.xml)": ("openvino", None),
    "OpenVINO IR fp16 (*.xml)": ("openvino", "fp16"),
    "LiteRT / TensorFlow Lite (*.tflite)": ("tflite", None),
    "LiteRT int8 for phones and microcontrollers (*.tflite)": ("tflite", "int8"),
    "Core ML package (*.mlpackage)": ("coreml", None),
    "Core ML package fp16 (*.mlpackage)": ("coreml", "fp16"),
}
NO_RUN = "Train a model first: there is no finished run to export."
SUFFIXES = {name: spec.suffix for name, spec in FORMATS.items()}


def format_for_path(path: str) -> str | None:
    suffix = Path(path).suffix.lower()
    return next((fmt for fmt, s in SUFFIXES.items() if s == suffix), None)


def export_job(_state: TaskState, run_dir: str, fmt: str, path: str,
               quantize: str | None = None) -> ExportResult:
    return export_run(run_dir, fmt, path, quantize=quantize)


def describe_result(result: ExportResult) -> str:
    check = (f"check passed (max difference {result.max_abs_diff:.2g})"
             if result.checked and result.max_abs_diff is not None else
             "check passed" if result.checked else f"check {result.check}")
    name = result.format + (f" {result.quantize}" if result.quantize else "")
    return f"Exported {name} to {result.path}: {check}."


def default_export_path(run_dir: str) -> str:
    """The run's own export file; its folder is made now, so that the dialog opens there
    instead of in the last folder browsed (one Enter wrote a model into a dataset)."""
    default = RunFolder.at(run_dir).export_file("onnx", FORMATS["onnx"].suffix)
    try:
        default.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return str(Path(run_dir) / default.name)  # a read-only run: still its folder
    return str(default)


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
        self._run_dir: str | None = None
        self.results_dialog: ExportResultsDialog | None = None  # the last one shown

    def is_busy(self) -> bool:
        return self._job.is_running()

    def export(self, run_dir: str | None, path: str, fmt: str | None = None,
               quantize: str | None = None) -> bool:
        """Start exporting `run_dir` to `path`; the format follows the suffix unless given.
        Without a run (None) `failed` says to train one first."""
        if run_dir is None:
            self.failed.emit(NO_RUN)
            return False
        fmt = fmt or format_for_path(path)
        if fmt is None:
            self.failed.emit(f"Cannot tell the export format of '{path}': use a file name "
                             f"ending in {', '.join(SUFFIXES.values())}")
            return False
        if self._job.is_running():
            return False
        self._run_dir = run_dir
        self.started.emit(path)
        self._job.start(export_job, run_dir, fmt, path, quantize)
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
        fmt, quantize = FILTERS.get(chosen, ("onnx", None))
        if format_for_path(path) is None:
            path += SUFFIXES[fmt]
        elif format_for_path(path) != fmt:  # a typed suffix names another format
            fmt, quantize = format_for_path(path), None
        if self.export(run_dir, path, fmt, quantize):
            self._box_parent = parent

    def _on_exported(self, result: ExportResult) -> None:
        if self._box_parent is not None:
            self.results_dialog = ExportResultsDialog(result, self._run_dir, self._box_parent)
            self.results_dialog.open()  # not exec(): nothing waits on it
            self._box_parent = None
        self.exported.emit(result)

    def _on_failed(self, error: Exception) -> None:
        self._box_parent = None
        self.failed.emit(error_message(error))

    def cancel(self) -> None:
        self._job.cancel()
