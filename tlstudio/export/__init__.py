"""Export a trained run as ONNX, TorchScript or safetensors, each checked against the run.

`export_run` is what the window and the CLI call; nothing reaches its destination unchecked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tlstudio import atomic
from tlstudio.errors import ExportError
from tlstudio.export.check import check_batch, check_parity
from tlstudio.export.onnx import onnx_bytes
from tlstudio.export.safetensors import safetensors_bytes, write_sidecar
from tlstudio.export.torchscript import torchscript_bytes
from tlstudio.inference import (
    Predictor,
    ProbabilityModel,
    open_onnx,
    open_safetensors,
    open_torchscript,
)
from tlstudio.models import Classifier, KNNHead
from tlstudio.runs import ModelInfo, PredictionsError, RunFolder, load_model, load_predictions
from tlstudio.runs.folder import EXPORT_FOLDER  # default destination inside the run folder
from tlstudio.writable import check_writable

ENSEMBLE_CHECK_IMAGES = 4  # stored validation images in an ensemble export's parity check


@dataclass(frozen=True)
class ExportFormat:
    suffix: str  # file extension of the default destination
    title: str  # how messages name it
    serialize: Callable[[ProbabilityModel, ModelInfo], bytes]  # the file's content
    open: Callable[[os.PathLike[str]], Predictor]  # loads it back as inference will


FORMATS = {
    "onnx": ExportFormat(".onnx", "ONNX", onnx_bytes, open_onnx),
    "torchscript": ExportFormat(".pt", "TorchScript", torchscript_bytes, open_torchscript),
    "safetensors": ExportFormat(".safetensors", "safetensors", safetensors_bytes, open_safetensors),
}


@dataclass(frozen=True)
class ExportResult:
    path: str  # the written file
    format: str  # "onnx", "torchscript" or "safetensors"
    checked: bool  # the parity check ran and passed
    max_abs_diff: float | None  # largest probability difference found by the check
    check_images: int  # real images in the check batch (the rest were random inputs)
    message: str  # one or two sentences for the user


def export_run(
    run_dir: str | os.PathLike[str],
    fmt: str,
    out: str | os.PathLike[str] | None = None,
    check_images: Sequence[str] = (),
) -> ExportResult:
    """Write the run's model as `fmt`, check it against the run, then move it into place.

    Default destination: `<run_dir>/export/model.<onnx|pt|safetensors>`; an existing folder as
    `out` receives `model.<ext>`. A failed check raises ExportError and leaves `out` untouched;
    a destination that cannot be written raises OutputError before any work.
    """
    key = fmt.lower()
    if key not in FORMATS:
        raise ExportError(f"Unknown export format '{fmt}': choose one of {', '.join(FORMATS)}")
    spec = FORMATS[key]
    if RunFolder.at(run_dir).is_ensemble():
        if key == "safetensors":
            raise ExportError("An ensemble holds several networks, and safetensors holds the "
                              "weights of one: export it as ONNX or TorchScript, which hold "
                              "every member in one graph")
        check_images = check_images or _ensemble_check_images(run_dir)
    dest = check_writable(_destination(Path(run_dir), spec.suffix, out))
    classifier, info = load_model(run_dir)
    _check_exportable(classifier, run_dir)
    reference = ProbabilityModel(classifier, info.temperature).eval()  # T inside the graph
    batch = check_batch(info, check_images)  # before writing: a bad check image fails early
    with atomic.atomic_path(dest) as tmp:
        tmp.write_bytes(spec.serialize(reference, info))
        diff = check_parity(reference, spec.open, tmp, batch)
    if key == "safetensors":
        write_sidecar(info, dest)
    inputs = f"{batch.image_count} images" if batch.image_count else "random inputs"
    message = (
        f"Exported {spec.title} model to {dest} ({len(info.classes)} classes, "
        f"{info.image_size}x{info.image_size} input). Checked against the trained model on "
        f"{inputs}: probabilities differ by at most {diff:.1e}."
    )
    return ExportResult(str(dest), key, True, diff, batch.image_count, message)


def _ensemble_check_images(run_dir: str | os.PathLike[str]) -> tuple[str, ...]:
    """A few of the validation images an ensemble stored (it has no recipe to find them)."""
    try:
        files = load_predictions(run_dir).files
    except PredictionsError:
        return ()
    return tuple(f for f in files if os.path.isfile(f))[:ENSEMBLE_CHECK_IMAGES]


def _destination(run_dir: Path, suffix: str, out: str | os.PathLike[str] | None) -> Path:
    if out is None:
        return RunFolder(run_dir).export_file(suffix)
    out = Path(out)
    return out / f"model{suffix}" if out.is_dir() else out


__all__ = ["EXPORT_FOLDER", "FORMATS", "ExportError", "ExportResult", "export_run"]


def _check_exportable(classifier: Classifier, run_dir: str | os.PathLike[str]) -> None:
    if isinstance(getattr(classifier, "head", None), KNNHead):  # an ensemble has none
        raise ExportError(
            f"The run in '{run_dir}' has a k-nearest-neighbours head: it keeps every training "
            "image's features and votes among the nearest, which the export formats' fixed "
            "networks do not hold faithfully, so it is not exported. A logistic-regression or "
            "linear-SVM head folds into one layer and exports like any run.")
