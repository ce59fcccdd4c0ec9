"""The backbone registry: name -> builder, pretrained config (weights, mean/std, size), stages.

Each entry carries its own preprocessing config so nothing downstream hard-codes it (timm's way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import torch
from torch import nn

from tlstudio.errors import WeightsError
from tlstudio.models import timm_hub

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INCEPTION_MEAN = (0.5, 0.5, 0.5)
INCEPTION_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class Stage:
    """A named group of backbone layers, shown as one node of the freeze tree."""

    name: str  # what the user sees, e.g. "stem", "blocks.3", "layer4"
    prefixes: tuple[str, ...]  # parameter-name prefixes inside the backbone module


@dataclass(frozen=True)
class BackboneSpec:
    name: str  # registry key, used in recipes and on the command line
    family: str  # "timm", "torchvision" or "builtin"
    description: str  # one line for the backbone picker
    input_size: int  # default square input size in pixels
    mean: tuple[float, float, float]  # normalization the pretrained weights expect
    std: tuple[float, float, float]
    source: str  # where pretrained weights come from: "bundled", "torchvision", "hf" or "none"
    weights_url: str | None = None  # download location for torchvision weights
    imagenet_classes: int = 1000  # size of the pretrained classifier (0 for none)
    timm_model: str | None = None  # timm's `model.tag` for a `timm:` backbone


_BUNDLED = {
    "tf_efficientnet_lite0": (224, "EfficientNet-Lite0, ImageNet (bundled, works offline)"),
    "tf_efficientnet_lite1": (240, "EfficientNet-Lite1, ImageNet (bundled, works offline)"),
    "tf_efficientnet_lite2": (260, "EfficientNet-Lite2, ImageNet (bundled, works offline)"),
}

_TORCHVISION = {
    "resnet18": "ResNet-18, ImageNet (torchvision)",
    "resnet34": "ResNet-34, ImageNet (torchvision)",
    "resnet50": "ResNet-50, ImageNet (torchvision)",
    "mobilenet_v3_small": "MobileNetV3-Small, ImageNet (torchvision)",
    "mobilenet_v3_large": "MobileNetV3-Large, ImageNet (torchvision)",
    "efficientnet_b0": "EfficientNet-B0, ImageNet (torchvision)",
    "convnext_tiny": "ConvNeXt-Tiny, ImageNet (torchvision)",
    "vgg16": "VGG-16, ImageNet (torchvision)",
    "vgg19": "VGG-19, ImageNet (torchvision)",
    "inception_v3": "Inception-v3, ImageNet, 299 px (torchvision)",
}


def _torchvision_spec(name: str, description: str) -> BackboneSpec:
    import torchvision.models as tvm

    weights = tvm.get_model_weights(name).DEFAULT
    tf = weights.transforms()
    return BackboneSpec(
        name=name,
        family="torchvision",
        description=description,
        input_size=int(tf.crop_size[0]),
        mean=tuple(tf.mean),
        std=tuple(tf.std),
        source="torchvision",
        weights_url=weights.url,
    )


@cache
def _specs() -> dict[str, BackboneSpec]:
    specs: dict[str, BackboneSpec] = {}
    for name, (size, description) in _BUNDLED.items():
        specs[name] = BackboneSpec(
            name, "timm", description, size, INCEPTION_MEAN, INCEPTION_STD, "bundled"
        )
    for name, description in _TORCHVISION.items():
        specs[name] = _torchvision_spec(name, description)
    specs["tiny_cnn"] = BackboneSpec(
        "tiny_cnn",
        "builtin",
        "A tiny 3-stage CNN with random weights, for quick experiments and tests",
        32,
        IMAGENET_MEAN,
        IMAGENET_STD,
        "none",
        imagenet_classes=0,
    )
    return specs


def backbone_names() -> list[str]:
    return list(_specs())


def get_spec(name: str) -> BackboneSpec:
    if timm_hub.is_timm_name(name):
        return _timm_spec(name)
    try:
        return _specs()[name]
    except KeyError:
        known = ", ".join(_specs())
        raise WeightsError(
            f"Unknown backbone '{name}'. Known backbones: {known}, or any timm model as "
            "timm:<model>[.<tag>]") from None


@cache
def _timm_spec(name: str) -> BackboneSpec:
    """A `timm:` backbone: preprocessing from the model's pretrained config."""
    cfg = timm_hub.pretrained_config(name)
    data = timm_hub.data_config(name)
    full = f"{cfg.architecture}.{cfg.tag}" if cfg.tag else cfg.architecture
    return BackboneSpec(
        name=name,
        family="timm",
        description=f"{full} (timm, Hugging Face hub)",
        input_size=int(data["input_size"][-1]),
        mean=tuple(float(v) for v in data["mean"]),
        std=tuple(float(v) for v in data["std"]),
        source="hf",
        imagenet_classes=int(cfg.num_classes or 0),
        timm_model=full,
    )


def build_imagenet_model(spec: BackboneSpec) -> nn.Module:
    """The full architecture with its original classifier, random weights."""
    if spec.family == "timm":
        import timm

        return timm.create_model(spec.timm_model or spec.name, pretrained=False)
    if spec.family == "torchvision":
        import torchvision.models as tvm

        if spec.name == "inception_v3":  # as its pretrained weights were trained
            return tvm.inception_v3(weights=None, aux_logits=True, transform_input=True,
                                    init_weights=False)
        return tvm.get_model(spec.name, weights=None)
    return TinyCNN()


class TinyCNN(nn.Module):
    """Three conv stages and a pooled 32-d feature; fast enough for unit tests on a CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.ReLU())
        self.stage1 = nn.Sequential(nn.Conv2d(8, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU())
        self.stage2 = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.stage2(self.stage1(self.stem(x)))).flatten(1))


def strip_classifier(spec: BackboneSpec, model: nn.Module) -> tuple[nn.Module, int]:
    """Turn a full model into a feature extractor; return it and its feature width."""
    if spec.family == "timm":
        width = model.num_features
        model.reset_classifier(0)
        return model, width
    if isinstance(model, TinyCNN):
        return model, 32
    if getattr(model, "AuxLogits", None) is not None:  # Inception-v3's training-only branch
        model.aux_logits = False
        model.AuxLogits = None
    parent, attr, linear = _last_linear(model)
    setattr(parent, attr, nn.Identity())
    return model, linear.in_features


def _last_linear(model: nn.Module) -> tuple[nn.Module, str, nn.Linear]:
    found = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            found = (name, module)
    if found is None:
        raise WeightsError("This architecture has no linear classifier to replace")
    name, linear = found
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    return parent, attr, linear


def backbone_stages(spec: BackboneSpec, backbone: nn.Module) -> list[Stage]:
    """Ordered stages of a feature extractor, from input to output."""
    stage_fn: Callable[[nn.Module], list[Stage]]
    if spec.family == "timm":
        stage_fn = _timm_stages
    elif hasattr(backbone, "features"):
        stage_fn = _features_stages
    else:
        stage_fn = _children_stages
    return [s for s in stage_fn(backbone) if _has_params(backbone, s)]


def _has_params(module: nn.Module, stage: Stage) -> bool:
    return any(n.startswith(stage.prefixes) for n, _ in module.named_parameters())


def _timm_stages(m: nn.Module) -> list[Stage]:
    if hasattr(m, "patch_embed") and hasattr(m, "blocks"):
        return _transformer_stages(m)
    if hasattr(m, "conv_stem") and hasattr(m, "blocks"):
        return _efficientnet_stages(m)
    return _sequence_stages(m)


def _transformer_stages(m: nn.Module) -> list[Stage]:
    """ViT/DeiT/EVA/DINOv2: patch embedding (with its tokens), each block, the final norm."""
    embed = ("patch_embed.", "cls_token", "reg_token", "dist_token", "pos_embed", "rope.",
             "norm_pre.")
    blocks = [Stage(f"blocks.{i}", (f"blocks.{i}.",)) for i in range(len(m.blocks))]
    norm = Stage("norm", ("norm.", "fc_norm.", "attn_pool."))
    return [Stage("patch_embed", embed), *blocks, norm]


def _sequence_stages(m: nn.Module) -> list[Stage]:
    """Other timm models: each top-level child is a stage; a `stages`/`layers` list splits."""
    stages: list[Stage] = []
    for name, child in m.named_children():
        if name in ("stages", "layers") and isinstance(child, nn.Sequential | nn.ModuleList):
            stages += [Stage(f"{name}.{i}", (f"{name}.{i}.",)) for i in range(len(child))]
        else:
            stages.append(Stage(name, (f"{name}.",)))
    return stages


def _efficientnet_stages(m: nn.Module) -> list[Stage]:
    blocks = [Stage(f"blocks.{i}", (f"blocks.{i}.",)) for i in range(len(m.blocks))]
    return [Stage("stem", ("conv_stem.", "bn1.")), *blocks, Stage("head", ("conv_head.", "bn2."))]


def _children_stages(m: nn.Module) -> list[Stage]:
    """ResNet-like: conv1+bn1 are the stem, each other child with weights is a stage."""
    stages: list[Stage] = []
    stem: list[str] = []
    for name, _ in m.named_children():
        if name.startswith(("layer", "stage", "Mixed_")) or name == "fc":
            stages.append(Stage(name, (f"{name}.",)))
        else:
            stem.append(f"{name}.")
    return [Stage("stem", tuple(stem)), *stages]


def _features_stages(m: nn.Module) -> list[Stage]:
    """torchvision models with `features`: each child is a stage; VGG splits at its pools."""
    children = list(m.features.named_children())
    stages: list[Stage] = []
    if all(not list(c.children()) for _, c in children):  # VGG: a flat list of layers
        group: list[str] = []
        for name, child in children:
            group.append(f"features.{name}.")
            if isinstance(child, nn.MaxPool2d):
                stages.append(Stage(f"block{len(stages) + 1}", tuple(group)))
                group = []
        if group:
            stages.append(Stage(f"block{len(stages) + 1}", tuple(group)))
    else:
        for i, (name, _) in enumerate(children):
            label = "stem" if i == 0 else f"features.{name}"
            stages.append(Stage(label, (f"features.{name}.",)))
    if hasattr(m, "classifier"):
        stages.append(Stage("pre_logits", ("classifier.",)))
    return stages
