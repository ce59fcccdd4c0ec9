"""ONNX in fp16 (weights and arithmetic halved, float32 input and output kept) and in int8
(ONNX Runtime's static QDQ quantization, calibrated on the run's training images; the
high-resolution first layers stay float).

fp16 uses ONNX Runtime's own float16 converter (`onnxruntime.transformers.float16`), the tool
its maintainers keep in step with the runtime; int8 uses `onnxruntime.quantization`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch

from tlstudio.errors import ExportError
from tlstudio.export.int8_guard import (
    float_stages,
    in_stages,
    onnx_module_path,
    stage_prefixes,
)
from tlstudio.export.metadata import describe, string_metadata
from tlstudio.export.onnx import INPUT_NAME, onnx_bytes
from tlstudio.export.onnx_float_layers import high_resolution_nodes, within_share
from tlstudio.inference import ProbabilityModel
from tlstudio.runs import ModelInfo

SEARCH_BATCH = 32  # calibration images per run of a candidate (bounded memory at 224 px)


def onnx_fp16_bytes(model: ProbabilityModel, info: ModelInfo, calibration: torch.Tensor) -> bytes:
    """The fp32 export with float16 weights and arithmetic; input and output stay float32, and
    so do the high-resolution first layers (at most FP32_SHARE of the weights).

    Those layers are where fp16 rounding hurt most: on EfficientNet-Lite2 trained on photo
    crops, rounding every weight to fp16 moved probabilities by up to 0.040, rounding all but
    those of the stem and the first two stages by 0.003; keeping them float32 took the fp16
    export's largest difference from 0.041 to 0.015, its file from x0.507 to x0.511 of fp32."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    proto = onnx.load_from_string(onnx_bytes(model, info))
    try:
        # Softmax stays float32: its exponentials overflow in fp16 on confident logits.
        half = convert_float_to_float16(
            proto,
            keep_io_types=True,
            op_block_list=["Softmax"],
            node_block_list=_fp32_nodes(proto, calibration),
        )
    except Exception as e:  # re-raised: the converter fails in many ways on unusual graphs
        raise ExportError(f"The {info.backbone} model could not be converted to fp16: {e}") from e
    return _with_metadata(half, info)


def _fp32_nodes(proto: onnx.ModelProto, calibration: torch.Tensor) -> list[str]:
    """The high-resolution nodes the fp16 export keeps float32, within the share of weights."""
    weights = {t.name: int(np.prod(t.dims)) for t in proto.graph.initializer}
    wanted = set(high_resolution_nodes(proto, calibration[:1].numpy()))
    return within_share(
        ((n.name, sum(weights.get(i, 0) for i in n.input))
         for n in proto.graph.node if n.name in wanted),
        sum(weights.values()),
    )


def onnx_int8_bytes(model: ProbabilityModel, info: ModelInfo, calibration: torch.Tensor) -> bytes:
    """int8 weights (per channel) and activations, ranges from `calibration` (NCHW images); the
    high-resolution first layers, the softmax and the stages the accuracy guard picks stay
    float (see onnx_float_layers, int8_guard)."""
    return _with_metadata(onnx.load_from_string(int8_search(model, info, calibration)[0]), info)


def int8_search(
    model: ProbabilityModel, info: ModelInfo, calibration: torch.Tensor
) -> tuple[bytes, tuple[str, ...]]:
    """The guarded int8 ONNX model's bytes and the stages it leaves float (int8_guard)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="tlstudio-int8-") as folder:
        source, prepared = Path(folder) / "fp32.onnx", Path(folder) / "prepared.onnx"
        fp32 = onnx_bytes(model, info)
        source.write_bytes(fp32)
        try:
            # ONNX Runtime's recommended pre-processing: folded constants, inferred shapes.
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
            proto = onnx.load(prepared)
            always = [n.name for n in proto.graph.node if n.op_type == "Softmax"]
            always += high_resolution_nodes(proto, calibration[:1].numpy())
            tried: dict[tuple[str, ...], bytes] = {}

            def quantize(stages: tuple[str, ...]) -> tuple[int, np.ndarray]:
                keep = always + [
                    n.name for n in proto.graph.node if in_stages(onnx_module_path(n.name), stages)
                ]
                tried[stages] = _quantized(prepared, Path(folder) / "int8.onnx", calibration, keep)
                return len(tried[stages]), _probabilities(tried[stages], calibration)

            with torch.inference_mode():
                reference = torch.cat([model(c) for c in calibration.split(SEARCH_BATCH)]).numpy()
            candidates = _float_costs(proto, set(always), stage_prefixes(info.backbone))
            chosen = float_stages(quantize, reference, candidates, len(fp32)).stages
        except Exception as e:  # re-raised: quantization fails in many ways on unusual graphs
            raise ExportError(
                f"The {info.backbone} model could not be quantized to int8: {e}"
            ) from e
        return tried[chosen], chosen


def _float_costs(
    proto: onnx.ModelProto, already: set[str], stages: list[tuple[str, ...]]
) -> dict[tuple[str, ...], int]:
    """Bytes each stage adds when left float (3 per int8 weight of its nodes not float yet);
    stages that add nothing (already float) are left out."""
    weights = {t.name: int(np.prod(t.dims)) for t in proto.graph.initializer if len(t.dims) > 1}
    costs = {}
    for stage in stages:
        extra = sum(
            weights.get(name, 0)
            for node in proto.graph.node
            if node.name not in already and in_stages(onnx_module_path(node.name), stage)
            for name in node.input
        )
        if extra:
            costs[stage] = 3 * extra
    return costs


def _probabilities(model: bytes, images: torch.Tensor) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return np.concatenate(
        [session.run(None, {INPUT_NAME: chunk.numpy()})[0] for chunk in images.split(SEARCH_BATCH)]
    )


def _quantized(
    prepared: Path, target: Path, calibration: torch.Tensor, keep_float: list[str]
) -> bytes:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    quantize_static(
        str(prepared),
        str(target),
        _Calibration(calibration),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        # S8S8 with symmetric activations (zero point 0): the TF "same" padding pads
        # with a true zero, and it kept 95 % top-1 agreement where U8S8 kept 79 %.
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        extra_options={"ActivationSymmetric": True},
        nodes_to_exclude=keep_float,
    )
    return target.read_bytes()


class _Calibration:
    """ONNX Runtime's CalibrationDataReader: one image at a time, as the model will see them."""

    def __init__(self, images: torch.Tensor) -> None:
        self._rows = (image.unsqueeze(0).numpy().astype(np.float32) for image in images)

    def get_next(self) -> dict[str, np.ndarray] | None:
        row = next(self._rows, None)
        return None if row is None else {INPUT_NAME: row}


def _with_metadata(proto: onnx.ModelProto, info: ModelInfo) -> bytes:
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, string_metadata(describe(info, True)))
    return proto.SerializeToString()
