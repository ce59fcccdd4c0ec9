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


def build_classifier(
    backbone_name: str,
    num_classes: int,
    weights_file: str | None = None,
    pretrained: bool = True,
    progress: weights.DownloadProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> BuiltModel:
    """Build the backbone with its pretrained weights and a fresh head for ``num_classes``."""
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
    model = Classifier(backbone, dim, num_classes, spec.mean, spec.std)
    stages = [
        Stage(s.name, tuple(f"backbone.{p}" for p in s.prefixes))
        for s in registry.backbone_stages(spec, backbone)
    ]
    stages.append(Stage(HEAD_STAGE, ("head.",)))
    return BuiltModel(model, spec, tuple(stages), source)


def load_imagenet_model(backbone_name: str) -> tuple[nn.Module, BackboneSpec]:
    """The pretrained ImageNet model with its original 1000-class classifier."""
    spec = registry.get_spec(backbone_name)
    full = registry.build_imagenet_model(spec)
    state = weights.pretrained_state_dict(spec)
    if state is not None:
        weights.load_into(full, state, spec.name)
    return full.eval(), spec
