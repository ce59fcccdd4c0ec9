"""The backbone list as users see it: name, parameters, input size, weights source."""

from __future__ import annotations

from functools import cache
from typing import Any

import torch

from tlstudio.models.registry import BackboneSpec, backbone_names, build_imagenet_model, get_spec
from tlstudio.models.weights import weights_status


@cache
def parameter_count(name: str) -> int:
    """Parameters of the ImageNet architecture, counted without allocating its weights."""
    with torch.device("meta"):
        model = build_imagenet_model(get_spec(name))
    return sum(p.numel() for p in model.parameters())


def backbone_row(spec: BackboneSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "family": spec.family,
        "parameters": parameter_count(spec.name),
        "input_size": spec.input_size,
        "weights": weights_status(spec),
        "description": spec.description,
    }


def backbone_rows() -> list[dict[str, Any]]:
    return [backbone_row(get_spec(n)) for n in backbone_names()]
