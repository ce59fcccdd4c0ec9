"""Core ML (`.mlpackage`, an ML program) via coremltools, float32 or fp16.

Core ML itself runs only on Apple systems: elsewhere the package is validated structurally
(input, output, shapes, classes read back from the saved package) and its numerical check is
reported as not run, never as passed.
"""

from __future__ import annotations

import json
import os
import platform
import warnings
from pathlib import Path

import numpy as np
import torch

from tlstudio.errors import ExportError
from tlstudio.export.metadata import describe, example_input, string_metadata
from tlstudio.export.onnx import INPUT_NAME, OUTPUT_NAME
from tlstudio.export.runtime import require
from tlstudio.inference import Predictor, ProbabilityModel
from tlstudio.models import KNNHead
from tlstudio.runs import ModelInfo

NOT_RUN = "not run: Core ML runs only on macOS; the package was validated structurally"


def write_coreml(model: ProbabilityModel, info: ModelInfo, path: Path, quantize: str | None,
                 _calibration: torch.Tensor) -> list[Path]:
    if any(isinstance(m, KNNHead) for m in model.modules()):  # a run's head or a member's
        raise ExportError("Core ML's converter has no pairwise-distance operation, which a "
                          "k-nearest-neighbours head needs to find the nearest training "
                          "images: export it as ONNX, TorchScript, OpenVINO or LiteRT")
    ct = require("coremltools", "Core ML")
    size = info.image_size
    precision = ct.precision.FLOAT16 if quantize == "fp16" else ct.precision.FLOAT32
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # untested-version notes
            # torch.export, not torch.jit.trace: coremltools cannot read the shape arithmetic
            # that the trace records for EfficientNet-Lite's TF "same" padding.
            exported = torch.export.export(model, (example_input(size)[:1],))
            converted = ct.convert(
                exported.run_decompositions({}),
                inputs=[ct.TensorType(name=INPUT_NAME, shape=(1, 3, size, size))],
                outputs=[ct.TensorType(name=OUTPUT_NAME)], convert_to="mlprogram",
                compute_precision=precision)
        converted.user_defined_metadata.update(string_metadata(describe(info, True)))
        converted.short_description = f"{info.backbone} classifier: {', '.join(info.classes)}"
        converted.save(str(path))
    except Exception as e:  # re-raised: the converter fails in many ways on unusual layers
        raise ExportError(
            f"The {info.backbone} model could not be converted to Core ML: {e}") from e
    validate_structure(path, info)
    return []


def validate_structure(path: os.PathLike[str], info: ModelInfo) -> None:
    """The saved package read back: one image input of the right shape, one output, our classes."""
    ct = require("coremltools", "Core ML")
    try:
        spec = ct.utils.load_spec(str(path))
    except Exception as e:  # noqa: BLE001 - an unreadable package
        raise ExportError(f"The Core ML package cannot be read back: {e}") from None
    inputs, outputs = spec.description.input, spec.description.output
    shape = list(inputs[0].type.multiArrayType.shape) if len(inputs) == 1 else []
    metadata = dict(spec.description.metadata.userDefined)
    problems = [
        f"inputs {[i.name for i in inputs]} instead of ['{INPUT_NAME}']"
        if [i.name for i in inputs] != [INPUT_NAME] else "",
        f"input shape {shape}" if shape != [1, 3, info.image_size, info.image_size] else "",
        f"outputs {[o.name for o in outputs]}"
        if [o.name for o in outputs] != [OUTPUT_NAME] else "",
        "no class names" if json.loads(metadata.get("classes", "[]")) != list(info.classes) else "",
    ]
    problems = [p for p in problems if p]
    if problems:
        raise ExportError(f"The Core ML package is malformed: {'; '.join(problems)}")


def coreml_runs_here() -> bool:
    return platform.system() == "Darwin"


def open_coreml(path: os.PathLike[str], info: ModelInfo, _threads: int | None) -> Predictor:
    """Core ML's own runtime (macOS only)."""
    ct = require("coremltools", "Core ML")
    loaded = ct.models.MLModel(str(path), compute_units=ct.ComputeUnit.CPU_ONLY)

    def probabilities(batch: np.ndarray) -> np.ndarray:
        rows = [loaded.predict({INPUT_NAME: image[np.newaxis]})[OUTPUT_NAME][0]
                for image in np.asarray(batch, dtype=np.float32)]
        return np.stack(rows)

    return Predictor(info.classes, info.image_size, probabilities, str(path))
