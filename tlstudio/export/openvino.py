"""OpenVINO IR (`model.xml` + `model.bin`), converted from the PyTorch model by OpenVINO's own
converter and run by the OpenVINO runtime on the CPU; fp16 halves the stored weights.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from tlstudio.errors import ExportError
from tlstudio.export.metadata import describe, example_input, string_metadata
from tlstudio.export.runtime import require
from tlstudio.inference import Predictor, ProbabilityModel
from tlstudio.runs import ModelInfo

METADATA = "tlstudio"  # rt_info section holding the model's description


def weights_file(xml: Path) -> Path:
    """The weights OpenVINO writes and reads beside `model.xml`."""
    return xml.with_suffix(".bin")


def write_openvino(model: ProbabilityModel, info: ModelInfo, path: Path, quantize: str | None,
                   _calibration: torch.Tensor) -> list[Path]:
    ov = require("openvino", "OpenVINO")
    try:
        converted = ov.convert_model(model, example_input=example_input(info.image_size))
        converted.reshape([-1, 3, info.image_size, info.image_size])
        for key, value in string_metadata(describe(info, True)).items():
            converted.set_rt_info(value, [METADATA, key])
        ov.save_model(converted, str(path), compress_to_fp16=quantize == "fp16")
    except Exception as e:  # re-raised: the converter fails in many ways on unusual layers
        raise ExportError(
            f"The {info.backbone} model could not be converted to OpenVINO: {e}") from e
    return [weights_file(path)]


def open_openvino(path: os.PathLike[str], info: ModelInfo, threads: int | None) -> Predictor:
    """The IR compiled for the CPU at float32 precision (no bf16 shortcuts on newer CPUs)."""
    ov = require("openvino", "OpenVINO")
    config = {"INFERENCE_PRECISION_HINT": "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    core = ov.Core()
    compiled = core.compile_model(core.read_model(str(path)), "CPU", config)

    def probabilities(batch: np.ndarray) -> np.ndarray:
        return np.asarray(compiled(np.ascontiguousarray(batch, dtype=np.float32))[0])

    return Predictor(info.classes, info.image_size, probabilities, str(path))


def read_metadata(path: os.PathLike[str]) -> dict[str, str]:
    """The model's description stored in the IR (what `predict` reads instead of model.json)."""
    ov = require("openvino", "OpenVINO")
    model = ov.Core().read_model(str(path))
    if not model.has_rt_info([METADATA]):
        return {}
    section = model.get_rt_info()[METADATA]
    return {key: value.astype(str) for key, value in section.items()}

