"""Which parameters train: freeze specs ("backbone", "none", "stages:K"), unfreeze globs, counts."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from torch import nn

from tlstudio.errors import RecipeError, Remedy
from tlstudio.models.classifier import HEAD_STAGE, Classifier
from tlstudio.models.registry import Stage


@dataclass(frozen=True)
class StageInfo:
    """One row of the freeze tree."""

    name: str
    trainable: bool  # every parameter of the stage trains
    trainable_params: int
    total_params: int


FREEZE_PATTERN = re.compile(r"^(backbone|none|stages:\d+)$")


@cache
def stage_names(backbone_name: str) -> tuple[str, ...]:
    """A backbone's stages, input to output, then the head; built on the meta device (no
    weights, no memory), once per backbone."""
    import torch

    from tlstudio.models.classifier import build_classifier

    with torch.device("meta"):
        built = build_classifier(backbone_name, 2, pretrained=False)
    return tuple(s.name for s in built.stages)


def stages_for_freeze(backbone_name: str, freeze: str) -> tuple[str, ...]:
    """The trainable stages a freeze spec means for this backbone, in the backbone's order."""
    if not isinstance(freeze, str) or not FREEZE_PATTERN.match(freeze):
        raise RecipeError(f"freeze must be 'backbone', 'none' or 'stages:K', not {freeze!r}")
    if freeze == "backbone":
        return (HEAD_STAGE,)  # no need to build the backbone
    names = stage_names(backbone_name)
    chosen = trainable_stage_names([Stage(n, ()) for n in names], freeze)
    return tuple(n for n in names if n in chosen)


def trainable_stage_names(stages: Sequence[Stage], freeze: str) -> set[str]:
    """The stages a freeze spec leaves trainable; the head always trains."""
    names = [s.name for s in stages]
    if freeze == "none":
        return set(names)
    if freeze == "backbone":
        return {HEAD_STAGE}
    if freeze.startswith("stages:"):
        k = int(freeze.split(":", 1)[1])
        backbone_count = len(names) - 1
        if k > backbone_count:
            raise RecipeError(
                f"stages:{k} freezes more stages than the backbone has ({backbone_count})"
            )
        return set(names[k:])
    raise RecipeError(f"Unknown freeze setting {freeze!r}")


def apply_freeze(
    model: Classifier,
    stages: Sequence[Stage],
    trainable_stages: Iterable[str],
    unfreeze: Sequence[str] = (),
) -> None:
    """Set requires_grad per stage, then re-enable parameters matching any unfreeze glob."""
    trainable = set(trainable_stages)
    unknown = trainable - {s.name for s in stages}
    if unknown:
        raise RecipeError(f"Unknown stage(s): {', '.join(sorted(unknown))}")
    prefixes = tuple(p for s in stages if s.name in trainable for p in s.prefixes)
    matched = dict.fromkeys(unfreeze, False)
    for name, param in model.named_parameters():
        on = name.startswith(prefixes)
        for pattern in unfreeze:
            if fnmatch.fnmatchcase(name, pattern):
                matched[pattern] = on = True
        param.requires_grad_(on)
    missing = [p for p, hit in matched.items() if not hit]
    if missing:
        raise RecipeError(f"Unfreeze pattern(s) matched no parameter: {', '.join(missing)}",
                          remedies=(Remedy.FIX_UNFREEZE,))
    model.frozen_modules = _fully_frozen_modules(model)


def _fully_frozen_modules(model: Classifier) -> list[nn.Module]:
    """Leaf modules with parameters, none of them trainable (BatchNorm stays in eval there)."""
    if only_head_trains(model):
        return [model.backbone]  # its dropout too: the same features as the feature cache
    frozen = []
    for module in model.backbone.modules():
        params = list(module.parameters(recurse=False))
        if params and not any(p.requires_grad for p in params):
            frozen.append(module)
    return frozen


def stage_infos(model: nn.Module, stages: Sequence[Stage]) -> list[StageInfo]:
    rows = []
    for stage in stages:
        params = [p for n, p in model.named_parameters() if n.startswith(stage.prefixes)]
        total = sum(p.numel() for p in params)
        train = sum(p.numel() for p in params if p.requires_grad)
        rows.append(StageInfo(stage.name, train == total and total > 0, train, total))
    return rows


def parameter_counts(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return train, total


def only_head_trains(model: Classifier) -> bool:
    return not any(p.requires_grad for p in model.backbone.parameters())


def preview_stages(
    backbone_name: str,
    num_classes: int,
    trainable_stages: Iterable[str] | None = None,
    freeze: str = "backbone",
    unfreeze: Sequence[str] = (),
) -> list[StageInfo]:
    """The freeze tree for a backbone without loading weights (built on the meta device).

    ``trainable_stages`` wins over ``freeze`` when given, as ``Recipe.train_stages`` does.
    """
    import torch

    from tlstudio.models.classifier import build_classifier

    with torch.device("meta"):
        built = build_classifier(backbone_name, max(num_classes, 1), pretrained=False)
    stages = built.stages
    chosen = trainable_stages if trainable_stages else trainable_stage_names(stages, freeze)
    apply_freeze(built.model, stages, chosen, unfreeze)
    return stage_infos(built.model, stages)


def stage_learning_rates(
    stages: Sequence[Stage | str],
    trainable: Iterable[str],
    lr: float,
    decay: float = 1.0,
) -> dict[str, float]:
    """Discriminative learning rates: the head gets ``lr``; going from the last trainable
    backbone stage towards the input, each trainable stage gets ``decay`` times the next one's
    (the last lr*decay, the one before lr*decay**2, ...). Frozen stages are skipped, so the
    factor counts trainable stages, not positions. Keys follow the stages' order.
    """
    names = [s if isinstance(s, str) else s.name for s in stages]
    chosen = set(trainable)
    unknown = chosen - set(names)
    if unknown:
        raise RecipeError(f"Unknown stage(s): {', '.join(sorted(unknown))}")
    rates: dict[str, float] = {}
    factor = 1.0
    for name in reversed(names):
        if name not in chosen:
            continue
        if name != HEAD_STAGE:
            factor *= decay
        rates[name] = lr * (1.0 if name == HEAD_STAGE else factor)
    return {name: rates[name] for name in names if name in rates}
