"""The export formats: how each is written, opened by its own runtime, and how close to the
trained fp32 model it must stay (tolerances per quantization).

The converters and runtimes beyond ONNX Runtime come with the `[deploy]` extra and are imported
only when their format is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from tlstudio.export.check import PARITY_TOLERANCE
from tlstudio.export.coreml import NOT_RUN, coreml_runs_here, open_coreml, write_coreml
from tlstudio.export.litert import open_litert, write_litert
from tlstudio.export.onnx import onnx_bytes
from tlstudio.export.onnx_quantized import onnx_fp16_bytes, onnx_int8_bytes
from tlstudio.export.openvino import open_openvino, write_openvino
from tlstudio.export.safetensors import safetensors_bytes
from tlstudio.export.torchscript import torchscript_bytes
from tlstudio.inference import (
    Predictor,
    ProbabilityModel,
    open_onnx,
    open_safetensors,
    open_torchscript,
)
from tlstudio.runs import ModelInfo

# Writes the export at `path` (plus files beside it, returned) from the model, its description,
# the quantization asked for and calibration images.
Writer = Callable[[ProbabilityModel, ModelInfo, Path, "str | None", torch.Tensor], list[Path]]
Opener = Callable[[os.PathLike[str], ModelInfo, "int | None"], Predictor]


@dataclass(frozen=True)
class Tolerance:
    max_abs_diff: float  # largest allowed probability difference from the fp32 model
    min_agreement: float  # smallest allowed share of images with the fp32 model's top-1 class


TOLERANCES = {
    None: Tolerance(PARITY_TOLERANCE, 0.0),  # fp32: probabilities must match; ties may flip
    "fp16": Tolerance(0.05, 0.95),
    "int8": Tolerance(0.5, 0.9),  # a sanity gate: the quality bar is measured, not assumed
}


@dataclass(frozen=True)
class ExportFormat:
    suffix: str  # file extension of the default destination
    title: str  # how messages name it
    write: Writer  # writes the file(s)
    open: Opener  # loads it back with its own runtime, as a client would
    quantizations: tuple[str, ...] = ()  # the --quantize values it supports
    runs_here: Callable[[], bool] = lambda: True  # False: the runtime check cannot run here
    not_run: str = ""  # the check's words when it cannot run here
    exact_check: bool = True  # also checked on the random-input batch at PARITY_TOLERANCE


def _from_bytes(serialize: Callable[..., bytes], quantized: dict[str, Callable[..., bytes]] = {}):  # noqa: B006
    def write(model, info, path, quantize, calibration) -> list[Path]:
        if quantize is None:
            path.write_bytes(serialize(model, info))
        else:
            path.write_bytes(quantized[quantize](model, info, calibration))
        return []

    return write


def _inference_opener(open_file: Callable[[os.PathLike[str]], Predictor]) -> Opener:
    # torch's threads are set by the latency measurement; onnx gets its own session options.
    return lambda path, _info, _threads: open_file(path)


def _onnx_opener(path: os.PathLike[str], _info: ModelInfo, threads: int | None) -> Predictor:
    return open_onnx(path, threads=threads)


FORMATS: dict[str, ExportFormat] = {
    "onnx": ExportFormat(
        ".onnx", "ONNX",
        _from_bytes(onnx_bytes, {"fp16": onnx_fp16_bytes, "int8": onnx_int8_bytes}),
        _onnx_opener, ("int8", "fp16")),
    "torchscript": ExportFormat(".pt", "TorchScript", _from_bytes(torchscript_bytes),
                                _inference_opener(open_torchscript)),
    "safetensors": ExportFormat(".safetensors", "safetensors", _from_bytes(safetensors_bytes),
                                _inference_opener(open_safetensors)),
    "openvino": ExportFormat(".xml", "OpenVINO IR", write_openvino, open_openvino, ("fp16",)),
    "tflite": ExportFormat(".tflite", "LiteRT (TensorFlow Lite)", write_litert, open_litert,
                           ("int8",)),
    "coreml": ExportFormat(".mlpackage", "Core ML", write_coreml, open_coreml, ("fp16",),
                           coreml_runs_here, NOT_RUN, exact_check=False),
}
QUANTIZATIONS = ("int8", "fp16")


def variant_name(fmt: str, quantize: str | None) -> str:
    """`onnx`, `onnx-int8`, ...: the export's folder name and its key in model.json."""
    return fmt if quantize is None else f"{fmt}-{quantize}"
