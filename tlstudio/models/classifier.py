"""The trainable model: normalization, a pretrained backbone, and a new linear head.

It takes float RGB in [0, 1], so exported models carry their own normalization.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from tlstudio.models import registry, weights
from tlstudio.models.registry import BackboneSpec, Stage

HEAD_STAGE = "classifier"


class Classifier(nn.Module):
    def __init__(
        self,
        backbone: nn.Module,
        feature_dim: int,
        num_classes: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.backbone = backbone
        self.head = nn.Linear(feature_dim, num_classes)
        self.frozen_modules: list[nn.Module] = []  # kept in eval mode while training

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone((x - self.mean) / self.std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of [0, 1] RGB images, NCHW."""
        return self.head(self.features(x))

    def train(self, mode: bool = True) -> Classifier:
        # Frozen layers keep their pretrained BatchNorm statistics and no dropout.
        super().train(mode)
        for module in self.frozen_modules:
            module.eval()
        return self


@dataclass(frozen=True)
class BuiltModel:
    model: Classifier
    spec: BackboneSpec
    stages: tuple[Stage, ...]  # backbone stages then the head, names relative to the model
    weights_source: str  # what was loaded: "bundled", "cached", "file:<path>", "none", ...


@dataclass(frozen=True)
class BuiltBackbone:
    """A backbone with its weights, before a head is put on it (fits that leave it frozen may
    share one)."""

    module: nn.Module  # the ImageNet model without its classifier
    feature_dim: int
    spec: BackboneSpec
    stages: tuple[Stage, ...]  # the backbone's stages, names relative to the Classifier
    weights_source: str  # as BuiltModel's


def build_backbone(
    backbone_name: str,
    weights_file: str | None = None,
    pretrained: bool = True,
    progress: weights.DownloadProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> BuiltBackbone:
    """The backbone with its pretrained weights (random ones when not ``pretrained``)."""
    spec = registry.get_spec(backbone_name)
    full = registry.build_imagenet_model(spec)
    source = "none"
    if pretrained:
        status = weights.weights_status(spec)
        state = weights.pretrained_state_dict(spec, weights_file, progress, cancelled)
        if state is not None:
            label = f"file:{weights_file}" if weights_file else status
            weights.load_into(full, state, weights_file or spec.name)
            source = label
    backbone, dim = registry.strip_classifier(spec, full)
    stages = tuple(
        Stage(s.name, tuple(f"backbone.{p}" for p in s.prefixes))
        for s in registry.backbone_stages(spec, backbone)
    )
    return BuiltBackbone(backbone, dim, spec, stages, source)


def classifier_on(backbone: BuiltBackbone, num_classes: int) -> BuiltModel:
    """A Classifier of ``backbone`` (the module itself, not a copy) and a fresh head."""
    spec = backbone.spec
    model = Classifier(backbone.module, backbone.feature_dim, num_classes, spec.mean, spec.std)
    stages = (*backbone.stages, Stage(HEAD_STAGE, ("head.",)))
    return BuiltModel(model, spec, stages, backbone.weights_source)


def build_classifier(
    backbone_name: str,
    num_classes: int,
    weights_file: str | None = None,
    pretrained: bool = True,
    progress: weights.DownloadProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> BuiltModel:
    """Build the backbone with its pretrained weights and a fresh head for ``num_classes``."""
    built = build_backbone(backbone_name, weights_file, pretrained, progress, cancelled)
    return classifier_on(built, num_classes)


def load_imagenet_model(backbone_name: str) -> tuple[nn.Module, BackboneSpec]:
    """The pretrained ImageNet model with its original 1000-class classifier."""
    spec = registry.get_spec(backbone_name)
    full = registry.build_imagenet_model(spec)
    state = weights.pretrained_state_dict(spec)
    if state is not None:
        weights.load_into(full, state, spec.name)
    return full.eval(), spec
