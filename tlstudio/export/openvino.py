"""OpenVINO IR (`model.xml` + `model.bin`), converted from the PyTorch model by OpenVINO's own
converter and run by the OpenVINO runtime on the CPU; fp16 halves the stored weights but those of
the high-resolution first layers (as fp16 ONNX does: see onnx_quantized.onnx_fp16_bytes).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from tlstudio.errors import ExportError
from tlstudio.export import onnx_float_layers
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
        if quantize == "fp16":
            _halve_weights(ov, converted, info.image_size)
        ov.save_model(converted, str(path), compress_to_fp16=False)
    except Exception as e:  # re-raised: the converter fails in many ways on unusual layers
        raise ExportError(
            f"The {info.backbone} model could not be converted to OpenVINO: {e}") from e
    return [weights_file(path)]


def _halve_weights(ov, model, image_size: int) -> None:
    """Store the float32 constants as float16 (each read back through a Convert, as OpenVINO's
    own fp16 compression stores them), but those of the layers whose output keeps at least
    1/HIGH_RESOLUTION of the input's side, input to output, within FP32_SHARE of the weights.

    OpenVINO's compression cannot leave layers out (it dropped the rt_info that asks it to);
    on EfficientNet-Lite2 (photo crops) keeping those float32 took the largest probability
    difference from fp32 from 0.040 to 0.0033, the file from 9.59 to 9.65 MB.
    """
    from openvino import opset13

    floor = image_size / onnx_float_layers.HIGH_RESOLUTION
    constants = [
        op for op in model.get_ordered_ops()
        if op.get_type_name() == "Constant" and op.get_element_type() == ov.Type.f32
        and op.get_output_size() == 1 and int(np.prod(op.get_output_shape(0))) > 1
    ]
    sizes = [int(np.prod(c.get_output_shape(0))) for c in constants]
    kept = set(onnx_float_layers.within_share(
        ((i, sizes[i]) for i, c in enumerate(constants) if _feeds_high_resolution(c, floor)),
        sum(sizes),
    ))
    for i, constant in enumerate(constants):
        if i in kept:
            continue
        half = opset13.constant(constant.get_data().astype(np.float16))
        widened = opset13.convert(half, ov.Type.f32)
        for target in list(constant.output(0).get_target_inputs()):
            target.replace_source_output(widened.output(0))


def _feeds_high_resolution(constant, floor: float) -> bool:
    """Whether a layer that uses `constant` outputs an image at least `floor` on its side."""
    for target in constant.output(0).get_target_inputs():
        shape = target.get_node().get_output_partial_shape(0)
        if shape.rank.is_static and shape.rank.get_length() == 4:
            height = shape[2]
            if height.is_static and height.get_length() >= floor:
                return True
    return False


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

