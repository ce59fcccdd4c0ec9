"""Export a trained run as ONNX (fp32, fp16, int8), TorchScript, safetensors, OpenVINO IR,
LiteRT (float, int8) or Core ML; each checked by its own runtime against the run and measured.

`export_run` is what the window and the CLI call; nothing reaches its destination unchecked.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tlstudio.errors import ExportError, ModelFileError, Remedy
from tlstudio.export.check import check_batch, check_parity
from tlstudio.export.examples import python_example
from tlstudio.export.examples_other import other_examples
from tlstudio.export.formats import FORMATS, QUANTIZATIONS, TOLERANCES, ExportFormat, variant_name
from tlstudio.export.loading import open_model
from tlstudio.export.measure import Measurement, compare, latency_ms, run_images, size_on_disk
from tlstudio.export.metadata import export_record
from tlstudio.export.safetensors import write_sidecar
from tlstudio.export.staging import staged
from tlstudio.export.table import COLUMNS, export_table, table_rows
from tlstudio.inference import Predictor, ProbabilityModel
from tlstudio.runs import (
    ModelInfo,
    PredictionsError,
    RunFolder,
    load_model,
    load_predictions,
    read_run_info,
    record_export,
)
from tlstudio.runs.folder import EXPORT_EXAMPLES, EXPORT_FOLDER
from tlstudio.writable import check_writable

PASSED = "passed"
ENSEMBLE_CHECK_IMAGES = 4  # stored validation images in an ensemble export's parity check


@dataclass(frozen=True)
class ExportResult:
    path: str  # the written file (a folder for Core ML's .mlpackage)
    format: str  # one of FORMATS
    checked: bool  # its runtime's check ran and passed
    max_abs_diff: float | None  # largest probability difference from the trained model
    check_images: int  # real images in the check batch (the rest were random inputs)
    message: str  # one or two sentences for the user
    quantize: str | None = None  # "int8", "fp16" or None (float32)
    bytes: int = 0  # size on disk, with the files it needs beside it
    latency_ms: float | None = None  # median per image: batch 1, one thread, after warm-up
    agreement: float | None = None  # share of validation images given the trained top-1 class
    accuracy: float | None = None  # on the run's validation images
    reference_accuracy: float | None = None  # the trained fp32 model's, on the same images
    check: str = PASSED  # "passed" or "not run: <why>"
    examples: tuple[str, ...] = ()  # the usage examples written beside it

    def to_json(self) -> dict[str, Any]:
        """What `export --json` prints and model.json records."""
        return export_record(self)


def export_run(
    run_dir: str | os.PathLike[str],
    fmt: str,
    out: str | os.PathLike[str] | None = None,
    check_images: Sequence[str] = (),
    quantize: str | None = None,
) -> ExportResult:
    """Write the run's model as `fmt` (quantized if asked), check it with its runtime against
    the run, measure it on the run's validation images, then move it and its examples into place.

    Default destination: `<run_dir>/export/<fmt[-quantize]>/model.<ext>`; an existing folder as
    `out` receives `model.<ext>`. A failed check raises ExportError and leaves `out` untouched;
    a destination that cannot be written raises OutputError before any work.
    """
    key, spec = _format(fmt, quantize)
    if RunFolder.at(run_dir).is_ensemble():
        if key == "safetensors":
            raise ExportError("An ensemble holds several networks, and safetensors holds the "
                              "weights of one: export it as ONNX or TorchScript, which hold "
                              "every member in one graph")
        check_images = check_images or _ensemble_check_images(run_dir)
    variant = variant_name(key, quantize)
    dest = check_writable(_destination(Path(run_dir), variant, spec.suffix, out))
    classifier, info = load_model(run_dir)
    reference = ProbabilityModel(classifier, info.temperature).eval()  # T inside the graph
    batch = check_batch(info, check_images)  # before writing: a bad check image fails early
    images = run_images(info, read_run_info(run_dir).recipe, batch.images)
    with staged(dest) as stage:
        main = stage / dest.name
        siblings = spec.write(reference, info, main, quantize, images.calibration)
        if spec.runs_here():
            exported = _open(spec, main, info, None)
            if quantize is None and spec.exact_check:
                check_parity(reference, lambda _path: exported, main, batch)
            measured = _checked(compare(reference, exported, images), quantize)
            measured = replace(measured, latency_ms=latency_ms(
                _open(spec, main, info, 1), images.validation[0]))
            check = PASSED
        else:
            measured, check = Measurement(None, None, None, None, None, 0), spec.not_run
        measured = replace(measured, bytes=size_on_disk(main, siblings))
        examples = _write_examples(stage, key, spec, dest.name, info)
    if key == "safetensors":
        write_sidecar(info, dest)
    result = _result(dest, key, quantize, spec, info, batch.image_count, measured, check,
                     examples)
    record_export(run_dir, variant, result.to_json())
    return result


def _format(fmt: str, quantize: str | None) -> tuple[str, ExportFormat]:
    key = fmt.lower()
    if key not in FORMATS:
        raise ExportError(f"Unknown export format '{fmt}': choose one of {', '.join(FORMATS)}")
    spec = FORMATS[key]
    if quantize is not None and quantize not in spec.quantizations:
        offered = " or ".join(spec.quantizations) or "no quantization"
        known = "" if quantize in QUANTIZATIONS else f" (known: {', '.join(QUANTIZATIONS)})"
        raise ExportError(f"{spec.title} export cannot be quantized to '{quantize}'{known}: "
                          f"it offers {offered}", remedies=(Remedy.OTHER_QUANTIZATION,))
    return key, spec


def _open(spec: ExportFormat, path: Path, info: ModelInfo, threads: int | None) -> Predictor:
    try:
        return spec.open(path, info, threads)
    except ModelFileError as e:
        raise ExportError(f"The exported file cannot be loaded back: {e}") from None
    except ExportError:
        raise
    except Exception as e:  # noqa: BLE001 - each runtime raises its own errors
        raise ExportError(f"The exported {spec.title} model cannot be loaded back by its "
                          f"runtime: {e}") from None


def _checked(measured: Measurement, quantize: str | None) -> Measurement:
    """`measured`, or ExportError when the runtime disagrees beyond the quantization's bounds."""
    tolerance = TOLERANCES[quantize]
    diff = measured.max_abs_diff
    agreement = measured.agreement
    if diff is None or agreement is None:
        return measured
    if not diff <= tolerance.max_abs_diff or agreement < tolerance.min_agreement:
        raise ExportError(
            f"The exported model disagrees with the trained model: probabilities differ by up "
            f"to {diff:.3g} (allowed {tolerance.max_abs_diff:g}) and the top class agrees on "
            f"{agreement:.1%} of the validation images (needed {tolerance.min_agreement:.0%}), "
            "so it was not saved")
    return measured


def _write_examples(stage: Path, key: str, spec: ExportFormat, model_file: str,
                    info: ModelInfo) -> tuple[str, ...]:
    sources = {"python": python_example(key, spec.title, model_file, info),
               **other_examples(key, model_file, info)}
    for language, source in sources.items():
        (stage / EXPORT_EXAMPLES[language]).write_text(source, encoding="utf-8")
    return tuple(EXPORT_EXAMPLES[language] for language in sources)


def _result(dest: Path, key: str, quantize: str | None, spec: ExportFormat, info: ModelInfo,
            check_images: int, m: Measurement, check: str,
            examples: tuple[str, ...]) -> ExportResult:
    if check == PASSED:
        inputs = f"{check_images} images" if check_images else "random inputs"
        checked = (f"Checked by its runtime against the trained model on {inputs} and the "
                   f"validation images: probabilities differ by at most {m.max_abs_diff:.1e}.")
    else:
        checked = f"Its runtime check was {check}."
    title = spec.title + (f" {quantize}" if quantize else "")
    message = (f"Exported {title} model to {dest} ({len(info.classes)} classes, "
               f"{info.image_size}x{info.image_size} input). {checked}")
    return ExportResult(str(dest), key, check == PASSED, m.max_abs_diff, check_images, message,
                        quantize, m.bytes, m.latency_ms, m.agreement, m.accuracy,
                        m.reference_accuracy, check, examples)


def _ensemble_check_images(run_dir: str | os.PathLike[str]) -> tuple[str, ...]:
    """A few of the validation images an ensemble stored (it has no recipe to find them)."""
    try:
        files = load_predictions(run_dir).files
    except PredictionsError:
        return ()
    return tuple(f for f in files if os.path.isfile(f))[:ENSEMBLE_CHECK_IMAGES]


def _destination(run_dir: Path, variant: str, suffix: str,
                 out: str | os.PathLike[str] | None) -> Path:


    if out is None:
        return RunFolder(run_dir).export_file(variant, suffix)
    out = Path(out)
    return out / f"model{suffix}" if out.is_dir() and out.suffix != suffix else out


__all__ = ["COLUMNS", "EXPORT_FOLDER", "FORMATS", "QUANTIZATIONS", "ExportError",
           "ExportResult", "export_run", "export_table", "open_model", "table_rows"]

