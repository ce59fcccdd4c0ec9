"""TensorFlow Lite / LiteRT (`.tflite`), by PyTorch's own route (`litert-torch`), float or int8,
run by the LiteRT interpreter (`ai-edge-litert`); the model's description is stored in the file
(litert_metadata).

int8 is static PT2E quantization (per-channel int8 weights, int8 activations, each ReLU6 observed
after its clip, the high-resolution first layers float, biases corrected for the weights'
rounding) calibrated on the run's training images, with the ONNX export's accuracy guard
(int8_guard): while the converted model disagrees with fp32 on those images, the stage that
helps most stays float. Input and output stay float32, so clients feed the same image either way.
The input is one image (batch 1), as phones and microcontrollers run it.
"""

from __future__ import annotations

import dataclasses
import os
from operator import attrgetter
from pathlib import Path

import numpy as np
import torch

from tlstudio.errors import ExportError
from tlstudio.export.bias_correction import correct_pt2e, int8_weight_layers
from tlstudio.export.int8_guard import float_stages, in_stages, stage_prefixes
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
                content = _int8(litert_torch, model, info, sample, calibration)
            else:
                content = litert_torch.convert(model, sample).model_content()
            path.write_bytes(with_metadata(content, string_metadata(describe(info, True))))
        except ExportError:
            raise
        except Exception as e:  # re-raised: the converter fails in many ways on unusual layers
            raise ExportError(
                f"The {info.backbone} model could not be converted to LiteRT: {e}"
            ) from e
    return []


SEARCH_BATCH = 32  # training images per fp32 forward pass of the guard's reference


def _int8(
    litert_torch,
    model: ProbabilityModel,
    info: ModelInfo,
    sample: tuple[torch.Tensor],
    calibration: torch.Tensor,
) -> bytes:
    """The guarded int8 model: each try is a real conversion run by the LiteRT interpreter on
    the training images (seconds each; a PyTorch simulation of the quantized graph was barely
    faster and disagreed with LiteRT on one image in 72)."""
    from litert_torch.quantize.quant_config import QuantConfig

    size = sample[0].shape[-1]
    with torch.inference_mode():
        reference = torch.cat([model(c) for c in calibration.split(SEARCH_BATCH)]).numpy()
    tried: dict[tuple[str, ...], tuple[bytes, np.ndarray]] = {}
    int8: dict[str, int] = {}  # the first try's int8 weights by layer

    def quantize(stages: tuple[str, ...]) -> tuple[int, np.ndarray]:
        if stages not in tried:
            quantizer = _quantizer(size, stages)
            graph = _calibrated(model, sample, calibration, quantizer)
            if not int8:
                int8.update(_int8_weights(graph))
            config = QuantConfig(pt2e_quantizer=quantizer)
            content = litert_torch.convert(graph, sample, quant_config=config).model_content()
            tried[stages] = content, _interpreted(content, None)(calibration.numpy())
        content, probabilities = tried[stages]
        return len(content), probabilities

    quantize(())
    costs = {  # the bytes leaving each stage float adds: 3 per int8 weight of its layers
        stage: 3 * extra
        for stage in stage_prefixes(info.backbone)
        if (extra := sum(n for path, n in int8.items() if in_stages(path, stage)))
    }
    weights = sum(p.numel() for p in model.parameters() if p.dim() > 1)
    chosen = float_stages(quantize, reference, costs, 4 * weights).stages
    return tried[chosen][0]


def _calibrated(
    model: ProbabilityModel, sample: tuple[torch.Tensor], calibration: torch.Tensor, quantizer
) -> torch.fx.GraphModule:
    """The model with `quantizer`'s int8 arithmetic simulated, ranges from `calibration`, and
    its biases corrected for the rounding of its weights (bias_correction)."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    graph = prepare_pt2e(torch.export.export(model, sample).module(), quantizer)
    with torch.no_grad():
        for image in calibration:
            graph(image.unsqueeze(0))  # observers record each activation's range
    graph = convert_pt2e(graph, fold_quantize=False)
    correct_pt2e(graph, calibration)
    return graph


def _int8_weights(graph: torch.fx.GraphModule) -> dict[str, int]:
    """The int8 weights of a quantized graph: their element counts by the module path of the
    layer that uses each."""
    found = {}
    for layer, rounded, _ in int8_weight_layers(graph):
        modules = list((layer.meta.get("nn_module_stack") or {}).values())
        if modules:
            found[modules[-1][0]] = attrgetter(rounded.args[0].target)(graph).numel()
    return found


def _quantizer(image_size: int, stages: tuple[str, ...] = ()):
    """Per-channel int8 weights, int8 activations over the full range the calibration images
    reach (min/max), each ReLU6 observed after its clip, and the high-resolution first layers
    and the layers of `stages` (module path prefixes, int8_guard) left float.

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
                high_resolution = (
                    isinstance(value, torch.Tensor)
                    and value.dim() == 4
                    and min(value.shape[-2:]) >= floor
                )
                if high_resolution or _in(node, stages):
                    node.meta.pop("quantization_annotation", None)
            _observe_after_relu6(model)
            _drop_orphaned_shares(model)
            return model

    return HighResolutionFloat().set_global(config)


def _in(node: torch.fx.Node, stages: tuple[str, ...]) -> bool:
    """Whether `node` computes part of a module in `stages` (torch.export records the module
    path of each operation)."""
    modules = list((node.meta.get("nn_module_stack") or {}).values())
    return bool(stages and modules) and in_stages(modules[-1][0], stages)


def _drop_orphaned_shares(model: torch.fx.GraphModule) -> None:
    """Leave float each layer whose quantization is shared with a value left float (a pooling
    after a float ReLU): the quantizer cannot share a quantization that does not exist."""
    from torchao.quantization.pt2e.quantizer import SharedQuantizationSpec

    def quantized(edge_or_node) -> bool:
        if isinstance(edge_or_node, tuple):  # (input, layer): the layer's quantized input
            source, layer = edge_or_node
            annotation = layer.meta.get("quantization_annotation")
            return annotation is not None and source in annotation.input_qspec_map
        annotation = edge_or_node.meta.get("quantization_annotation")
        return annotation is not None and annotation.output_qspec is not None

    dropped = True
    while dropped:  # a share of a share: until nothing more is left float
        dropped = False
        for node in model.graph.nodes:
            annotation = node.meta.get("quantization_annotation")
            if annotation is None:
                continue
            specs = [*annotation.input_qspec_map.values(), annotation.output_qspec]
            if any(
                isinstance(spec, SharedQuantizationSpec) and not quantized(spec.edge_or_node)
                for spec in specs
            ):
                del node.meta["quantization_annotation"]
                dropped = True


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
    return Predictor(info.classes, info.image_size, _interpreted(path, threads), str(path))


def _interpreted(model: os.PathLike[str] | bytes, threads: int | None):
    """A function from a batch of images (NCHW float32) to the probabilities the LiteRT
    interpreter computes for `model` (a file or its bytes), one image at a time."""
    interpreter_module = require("ai_edge_litert.interpreter", "LiteRT")
    given = {"model_content": model} if isinstance(model, bytes) else {"model_path": str(model)}
    with silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interpreter = interpreter_module.Interpreter(**given, num_threads=threads)
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

    return probabilities
