"""Write a run's weights as safetensors with the model's description in the file's metadata."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import save

from tlstudio import atomic
from tlstudio.errors import ExportError
from tlstudio.export.metadata import describe, string_metadata
from tlstudio.inference import ProbabilityModel
from tlstudio.runs.model_files import ModelInfo


def safetensors_bytes(model: ProbabilityModel, info: ModelInfo) -> bytes:
    """The classifier's weights (it outputs logits), described by string metadata, as bytes."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.classifier.state_dict().items()}
    try:
        return save(state, metadata=string_metadata(describe(info, False)))
    except Exception as e:  # re-raised as ExportError: e.g. shared tensors
        raise ExportError(f"The weights could not be written as safetensors: {e}") from e


def write_sidecar(info: ModelInfo, weights_path: Path) -> Path:
    """`<name>.json` beside the weights, for tools that do not read safetensors metadata."""
    sidecar = weights_path.with_suffix(".json")
    atomic.write_json(sidecar, describe(info, False))
    return sidecar
