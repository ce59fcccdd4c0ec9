"""Which nodes of an ONNX classifier int8 quantization leaves in float: the high-resolution ones.

The first layers of a CNN see few channels at full resolution, so the rounding of their weights
and activations is not averaged away by later sums; on EfficientNet-Lite they caused most of the
int8 disagreement (measured in the commit that added this), while holding under 1 % of the
weights. Every node whose output keeps at least a quarter of the input's height and width stays
float; the input is found by running the float model once on one calibration image.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import numpy as np
import onnx

HIGH_RESOLUTION = 4  # outputs at least input / 4 on each side stay float
FP32_SHARE = 0.02  # of the weights at most kept float32 in an fp16 export (ONNX, OpenVINO)
T = TypeVar("T")


def high_resolution_nodes(proto: onnx.ModelProto, image: np.ndarray) -> list[str]:
    """Names of the nodes whose 4-D output is at least 1/HIGH_RESOLUTION of the input's size."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(proto)
    known = {o.name for o in probe.graph.output}
    producers = {}
    for node in probe.graph.node:
        for name in node.output:
            if name and name not in known:
                probe.graph.output.append(onnx.ValueInfoProto(name=name))
                producers[name] = node.name
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {session.get_inputs()[0].name: image})
    height, width = image.shape[-2:]
    floor = (height / HIGH_RESOLUTION, width / HIGH_RESOLUTION)
    return sorted(
        {
            producers[name]
            for name, value in zip(names, values, strict=True)
            if name in producers
            and np.ndim(value) == 4
            and value.shape[-2] >= floor[0]
            and value.shape[-1] >= floor[1]
        }
    )


def within_share(sized: Iterable[tuple[T, int]], total: int) -> list[T]:
    """The first of `sized` (input to output, each with its weight count) while their weights
    add up to at most FP32_SHARE of `total`: what an fp16 export keeps float32 (a small network
    is at high resolution almost throughout)."""
    budget, kept = FP32_SHARE * total, []
    for item, size in sized:
        budget -= size
        if budget < 0:
            break
        kept.append(item)
    return kept
