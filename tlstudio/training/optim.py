"""The recipe's optimizer, its per-batch learning-rate schedule (warm-up + shape) and its loss.

The schedule is a LambdaLR stepped after every batch: the rate for step t is lr * factor(t).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from tlstudio.data.imbalance import class_weights
from tlstudio.recipe import Recipe

SGD_MOMENTUM = 0.9
ONECYCLE_RISE = 0.25  # fraction of the (post-warm-up) steps spent rising to the peak
ONECYCLE_START = 1 / 25  # onecycle starts (and its cosine floor ends) near lr / 25
STEP_DROPS = 3  # "step" multiplies the rate by STEP_GAMMA after each third of training
STEP_GAMMA = 0.1


def build_optimizer(params: Iterable[nn.Parameter], recipe: Recipe) -> torch.optim.Optimizer:
    params = list(params)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(params, lr=recipe.lr, momentum=SGD_MOMENTUM,
                               weight_decay=recipe.weight_decay)
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)


def build_loss(recipe: Recipe, class_counts: Sequence[int] | None = None) -> nn.Module:
    """The training loss; validation keeps plain cross-entropy so val_loss stays comparable.

    It takes class indices or soft targets (MixUp/CutMix). With balance "loss", each class's
    term is weighted N / (C * count) from the training images per class, ``class_counts``.
    """
    weight = None
    if recipe.balance == "loss":
        if class_counts is None:
            raise ValueError("a class-weighted loss needs the training images per class")
        weight = class_weights(class_counts)
    return nn.CrossEntropyLoss(weight=weight, label_smoothing=recipe.label_smoothing)


def lr_factor(schedule: str, total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """step (0-based batch index over the whole run) -> multiplier of the peak lr."""
    warmup_steps = min(warmup_steps, total_steps)
    main_steps = max(total_steps - warmup_steps, 1)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        t = min((step - warmup_steps) / main_steps, 1.0)  # progress through the schedule
        return _shape(schedule, t)

    return factor


def _shape(schedule: str, t: float) -> float:
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * t))
    if schedule == "step":
        return STEP_GAMMA ** min(int(t * STEP_DROPS), STEP_DROPS - 1)
    if schedule == "onecycle":
        if t < ONECYCLE_RISE:
            rise = 0.5 * (1 - math.cos(math.pi * t / ONECYCLE_RISE))
            return ONECYCLE_START + (1 - ONECYCLE_START) * rise
        fall = (t - ONECYCLE_RISE) / (1 - ONECYCLE_RISE)
        return 0.5 * (1 + math.cos(math.pi * fall))
    return 1.0


def build_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe,
                    batches_per_epoch: int) -> LambdaLR:
    total = recipe.epochs * batches_per_epoch
    warmup = round(recipe.warmup_epochs * batches_per_epoch)
    return LambdaLR(optimizer, lr_factor(recipe.schedule, total, warmup))


def scale_lr(optimizer: torch.optim.Optimizer, scheduler: LambdaLR, factor: float) -> None:
    """Multiply the current and all later rates by ``factor`` (reduce-on-plateau)."""
    scheduler.base_lrs = [lr * factor for lr in scheduler.base_lrs]
    for group in optimizer.param_groups:
        group["lr"] *= factor
