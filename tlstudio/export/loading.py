"""Open any model `predict`, `serve` and Try images accept: a run folder, the base formats
(tlstudio.inference) and the deploy formats this package writes, each run by its own runtime.

An OpenVINO `.xml` and a LiteRT `.tflite` carry the model's description inside them, as ONNX
does; a Core ML `.mlpackage` runs only where Core ML does (macOS), and is refused elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from tlstudio.errors import ExportError, ModelFileError
from tlstudio.export.coreml import coreml_runs_here, open_coreml
from tlstudio.export.litert import open_litert
from tlstudio.export.litert_metadata import read_metadata
from tlstudio.export.openvino import open_openvino
from tlstudio.export.openvino import read_metadata as read_openvino_metadata
from tlstudio.inference import Predictor, info_from_metadata, load_predictor
from tlstudio.pickles import first_line

ACCEPTED = (
    "a run folder, or an exported .onnx, .pt, .safetensors, OpenVINO .xml, .tflite or "
    "(on macOS) .mlpackage"
)
MODEL_SUFFIXES = (
    ".onnx",
    ".pt",
    ".pth",
    ".torchscript",
    ".safetensors",
    ".xml",
    ".tflite",
    ".mlpackage",
)


def open_model(path: str | os.PathLike[str]) -> Predictor:
    """A predictor for `path`; ModelFileError (a sentence for the user) when it cannot be run."""
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.exists() or (p.is_dir() and suffix != ".mlpackage"):
        return load_predictor(p)
    try:
        if suffix == ".xml":
            info = info_from_metadata(read_openvino_metadata(p), p)
            return _with_threshold(open_openvino(p, info, None), info.unknown_below)
        if suffix == ".tflite":
            metadata = read_metadata(p.read_bytes())
            if metadata is None:
                raise ModelFileError(f"'{path}' is not a tlstudio export: it names no classes")
            info = info_from_metadata(metadata, p)
            return _with_threshold(open_litert(p, info, None), info.unknown_below)
        if suffix == ".mlpackage":
            return _open_coreml(p)
    except (ModelFileError, ExportError) as e:
        raise ModelFileError(str(e)) from None
    except Exception as e:  # noqa: BLE001 - each runtime raises its own errors on bad files
        raise ModelFileError(f"Cannot read '{path}' as a {suffix} model: {first_line(e)}") from None
    if suffix in MODEL_SUFFIXES:
        return load_predictor(p)
    raise ModelFileError(f"'{path}' is not a model tlstudio can load: give {ACCEPTED}")


def _open_coreml(path: Path) -> Predictor:
    if not coreml_runs_here():
        raise ModelFileError(
            f"'{path}' is a Core ML package, and Core ML runs only on macOS (and iOS): predict "
            "with the run folder or its ONNX, OpenVINO or LiteRT export here"
        )
    from tlstudio.export.runtime import require

    metadata = dict(
        require("coremltools", "Core ML")
        .models.MLModel(str(path), skip_model_load=True)
        .user_defined_metadata
    )
    info = info_from_metadata(metadata, path)
    return _with_threshold(open_coreml(path, info, None), info.unknown_below)


def _with_threshold(predictor: Predictor, unknown_below: float) -> Predictor:
    predictor.unknown_below = unknown_below
    return predictor
