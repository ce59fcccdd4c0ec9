"""Write a run's model as TorchScript (traced), with its description in ``tlstudio.json``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from tlstudio.errors import ExportError
from tlstudio.export.metadata import describe, example_input
from tlstudio.inference import TORCHSCRIPT_INFO, ProbabilityModel
from tlstudio.runs.model_files import ModelInfo


def write_torchscript(model: ProbabilityModel, info: ModelInfo, dest: Path) -> None:
    """Trace `model` at the recorded input size and save it with its description."""
    example = example_input(info.image_size)
    extra = {TORCHSCRIPT_INFO: json.dumps(describe(info, True), indent=2)}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # torch.jit is deprecated upstream but remains the portable format for LibTorch.
            warnings.simplefilter("ignore", FutureWarning)
            # check_trace is off: the parity check on the saved file is stricter.
            traced = torch.jit.trace(model, example, check_trace=False)
            torch.jit.save(traced, str(dest), _extra_files=extra)
    except Exception as e:  # re-raised as ExportError: tracing fails in many ways
        raise ExportError(
            f"The {info.backbone} model could not be traced to TorchScript: {e}"
        ) from e
