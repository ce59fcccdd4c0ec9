"""What every export shares: its self-description (classes, input size, preprocessing, recipe,
version) and the example input it is traced with.

ONNX and safetensors hold it as string metadata (JSON where not a string); TorchScript as JSON.
"""

from __future__ import annotations

import json
from typing import Any

import torch

from tlstudio import __version__
from tlstudio.inference import JSON_METADATA_KEYS
from tlstudio.runs.model_files import ModelInfo

PROBABILITY_OUTPUT = (
    "probabilities (logits divided by 'temperature', then softmax), one per class in the order "
    "of 'classes'; a top probability below 'unknown_below' means the answer is 'unknown'"
)


def describe(info: ModelInfo, outputs_probabilities: bool) -> dict[str, Any]:
    """model.json's content plus the tlstudio version; `output` says what the export returns."""
    description = info.to_dict()
    description["tlstudio_version"] = __version__
    if outputs_probabilities:
        description["output"] = PROBABILITY_OUTPUT
    return description


def string_metadata(description: dict[str, Any]) -> dict[str, str]:
    """`description` as str -> str, JSON-encoding the values `info_from_metadata` decodes."""
    return {k: json.dumps(v) if k in JSON_METADATA_KEYS else str(v) for k, v in description.items()}


def example_input(image_size: int) -> torch.Tensor:
    """A fixed batch of two random images; two, so the batch size is not mistaken for a constant."""
    return torch.rand(2, 3, image_size, image_size, generator=torch.Generator().manual_seed(0))


# What an export's record holds: `export --json` prints these keys, model.json keeps them.
EXPORT_RECORD_KEYS = ("path", "format", "quantize", "bytes", "latency_ms", "agreement",
                      "accuracy", "reference_accuracy", "max_abs_diff", "check")


def export_record(result: Any) -> dict[str, Any]:
    """The record of an ExportResult: exactly EXPORT_RECORD_KEYS."""
    return {key: getattr(result, key) for key in EXPORT_RECORD_KEYS}
