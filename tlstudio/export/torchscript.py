"""Write a run's model as TorchScript (traced), with its description in ``tlstudio.json``."""

from __future__ import annotations

import io
import json
import warnings

import torch

from tlstudio.errors import ExportError
from tlstudio.export.metadata import describe, example_input
from tlstudio.inference import TORCHSCRIPT_INFO, ProbabilityModel
from tlstudio.runs.model_files import ModelInfo


def torchscript_bytes(model: ProbabilityModel, info: ModelInfo) -> bytes:
    """`model` traced at the recorded input size, with its description, as the file's bytes.

    In memory, never to a path: torch's file writer aborts the whole process when the disk
    fills up; the caller writes the bytes through `atomic`, which reports it instead.
    """
    example = example_input(info.image_size)
    extra = {TORCHSCRIPT_INFO: json.dumps(describe(info, True), indent=2)}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # torch.jit is deprecated upstream but remains the portable format for LibTorch.
            warnings.simplefilter("ignore", FutureWarning)
            # check_trace is off: the parity check on the saved file is stricter.
            traced = torch.jit.trace(model, example, check_trace=False)
            buffer = io.BytesIO()
            torch.jit.save(traced, buffer, _extra_files=extra)
    except Exception as e:  # re-raised as ExportError: tracing fails in many ways
        raise ExportError(
            f"The {info.backbone} model could not be traced to TorchScript: {e}"
        ) from e
    return buffer.getvalue()
