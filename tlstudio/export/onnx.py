"""Write a run's model as ONNX: input "image" (float RGB [0, 1] NCHW), output "probabilities".

Uses the TorchScript-based exporter (``dynamo=False``): it needs no onnxscript and works offline.
"""

from __future__ import annotations

import io
import warnings

import onnx
import torch

from tlstudio.errors import ExportError
from tlstudio.export.metadata import describe, example_input, string_metadata
from tlstudio.inference import ProbabilityModel
from tlstudio.runs.model_files import ModelInfo

OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"


def onnx_bytes(model: ProbabilityModel, info: ModelInfo) -> bytes:
    """`model` with a dynamic batch dimension and the model's metadata, as the file's bytes."""
    example = example_input(info.image_size)
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            # The legacy exporter announces its own deprecation; it is our deliberate choice.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (example,),
                buffer,
                dynamo=False,
                opset_version=OPSET,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                do_constant_folding=True,
            )
        proto = onnx.load_from_string(buffer.getvalue())
        onnx.helper.set_model_props(proto, string_metadata(describe(info, True)))
        onnx.checker.check_model(proto)
        return proto.SerializeToString()
    except Exception as e:  # re-raised: the exporter fails in many ways on unusual layers
        raise ExportError(f"The {info.backbone} model could not be converted to ONNX: {e}") from e
