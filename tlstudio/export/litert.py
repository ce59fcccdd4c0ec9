"""TensorFlow Lite / LiteRT (`.tflite`), by PyTorch's own route (`litert-torch`), float or int8,
run by the LiteRT interpreter (`ai-edge-litert`); the model's description is stored in the file
(litert_metadata).

int8 is static PT2E quantization (per-channel int8 weights, int8 activations, each ReLU6 observed
after its clip, the high-resolution first layers float) calibrated on the run's training images;
input and output stay float32, so clients feed the same image either way.
The input is one image (batch 1), as phones and microcontrollers run it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import torch

from tlstudio.errors import ExportError
from tlstudio.export.litert_metadata import with_metadata
from tlstudio.export.metadata import describe, string_metadata
from tlstudio.export.onnx_float_layers import HIGH_RESOLUTION
from tlstudio.export.quiet import silenced
from tlstudio.export.runtime import require
from tlstudio.inference import Predictor, ProbabilityModel
from tlstudio.runs import ModelInfo


def write_litert(
    model: ProbabilityModel,
    info: ModelInfo,
    path: Path,
    quantize: str | None,
    calibration: torch.Tensor,
) -> list[Path]:
    sample = (calibration[:1].contiguous(),)
    # The converter reports its progress on stdout and stderr; `export --json` keeps stdout for
    # the JSON, and a user reads tlstudio's own lines only.
    with silenced():
        litert_torch = require("litert_torch", "LiteRT")
        try:
            if quantize == "int8":
                converted = _int8(litert_torch, model, sample, calibration)
            else:
                converted = litert_torch.convert(model, sample)
            converted.export(str(path))
            described = with_metadata(path.read_bytes(), string_metadata(describe(info, True)))
            path.write_bytes(described)
        except ExportError:
            raise
        except Exception as e:  # re-raised: the converter fails in many ways on unusual layers
            raise ExportError(
                f"The {info.backbone} model could not be converted to LiteRT: {e}"
            ) from e
    return []


def _int8(
    litert_torch, model: ProbabilityModel, sample: tuple[torch.Tensor], calibration: torch.Tensor
):
    from litert_torch.quantize.quant_config import QuantConfig
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = _quantizer(sample[0].shape[-1])
    graph = prepare_pt2e(torch.export.export(model, sample).module(), quantizer)
    with torch.no_grad():
        for image in calibration:
            graph(image.unsqueeze(0))  # observers record each activation's range
    graph = convert_pt2e(graph, fold_quantize=False)
    return litert_torch.convert(graph, sample, quant_config=QuantConfig(pt2e_quantizer=quantizer))


def _quantizer(image_size: int):
    """Per-channel int8 weights, int8 activations over the full range the calibration images
    reach (min/max), each ReLU6 observed after its clip, and the high-resolution first layers
    left float.

    On the digits demo (EfficientNet-Lite0): the recipe's default histogram observer clips
    activation outliers and kept 73 % top-1 agreement; min/max with the first layers float
    kept 98 %. The same layers are left float in the ONNX int8 export (onnx_float_layers).
    Observing ReLU6 after the clip took EfficientNet-Lite2 on the demo from 97 % to 98 %.
    """
    from litert_torch.quantize.pt2e_quantizer import (
        PT2EQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e import MinMaxObserver

    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
    activations = dataclasses.replace(
        config.input_activation, observer_or_fake_quant_ctr=MinMaxObserver.with_args(eps=2**-12)
    )
    config = dataclasses.replace(
        config, input_activation=activations, output_activation=activations
    )
    floor = image_size / HIGH_RESOLUTION

    class HighResolutionFloat(PT2EQuantizer):
        def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
            model = super().annotate(model)
            for node in model.graph.nodes:
                value = node.meta.get("val")
                if (
                    isinstance(value, torch.Tensor)
                    and value.dim() == 4
                    and min(value.shape[-2:]) >= floor
                ):
                    node.meta.pop("quantization_annotation", None)
            _observe_after_relu6(model)
            return model

    return HighResolutionFloat().set_global(config)


def _observe_after_relu6(model: torch.fx.GraphModule) -> None:
    """Each ReLU6 (hardtanh) right after a quantized layer gets that layer's output observer.

    The quantizer shares a ReLU6's quantization with its input, whose range is observed before
    the clip (the layer's whole output range): the 0..6 the next layer sees then gets only part
    of int8's 256 levels. Observed after the clip, as the quantizer does for ReLU and ONNX
    Runtime for Clip, the layer and its ReLU6 become one int8 operation over 0..6.
    """
    from torchao.quantization.pt2e.quantizer import QuantizationAnnotation

    relu6 = (torch.ops.aten.hardtanh.default, torch.ops.aten.hardtanh_.default)
    for node in model.graph.nodes:
        source = node.args[0] if node.op == "call_function" and node.target in relu6 else None
        before = source.meta.get("quantization_annotation") if source is not None else None
        if before is None or before.output_qspec is None or len(source.users) != 1:
            continue
        node.meta["quantization_annotation"] = QuantizationAnnotation(
            output_qspec=before.output_qspec, _annotated=True
        )
        before.output_qspec = None


def open_litert(path: os.PathLike[str], info: ModelInfo, threads: int | None) -> Predictor:
    """The LiteRT interpreter (XNNPACK on the CPU); a batch runs one image at a time."""
    interpreter_module = require("ai_edge_litert.interpreter", "LiteRT")
    with silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interpreter = interpreter_module.Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]

    def probabilities(batch: np.ndarray) -> np.ndarray:
        rows = []
        for image in np.asarray(batch, dtype=np.float32):
            interpreter.set_tensor(source, image[np.newaxis])
            interpreter.invoke()
            rows.append(interpreter.get_tensor(target)[0].copy())
        return np.stack(rows)

    return Predictor(info.classes, info.image_size, probabilities, str(path))
