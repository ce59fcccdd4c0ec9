"""The backbone list as users see it: name, parameters, input size, weights source."""

from __future__ import annotations

from functools import cache
from typing import Any

import torch

from tlstudio.models import timm_hub
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


def backbone_rows(every_timm_model: bool = False) -> list[dict[str, Any]]:
    """The curated backbones; with `every_timm_model`, then every timm model with a pretrained
    tag (`timm:<model>.<tag>`), `weights` "cached" for those in the local Hugging Face cache."""
    rows = [backbone_row(get_spec(n)) for n in backbone_names()]
    if every_timm_model:
        rows += timm_rows()
    return rows


def timm_rows() -> list[dict[str, Any]]:
    """One light row per pretrained timm model: no model is built, so the list is quick."""
    return [{"name": name, "family": "timm", "parameters": None, "input_size": None,
             "weights": "cached" if cached else "download",
             "description": "timm, Hugging Face hub"}
            for name, cached in timm_hub.pretrained_models()]
