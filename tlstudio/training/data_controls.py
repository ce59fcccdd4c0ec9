"""The recipe's data-side controls as the engine applies them: augmentation and mixing versus
the feature cache, the class-imbalance note, the balancing sampler and batch mixing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch.utils.data import Sampler

from tlstudio.data.augment import augment_settings, augments
from tlstudio.data.imbalance import balanced_sampler, class_imbalance, sample_weights
from tlstudio.recipe import Recipe
from tlstudio.training.events import LogMessage
from tlstudio.training.mixing import Batch, MixedBatches, batch_mixing


def cache_off_note(recipe: Recipe) -> str | None:
    """Why cached features cannot stand in for this recipe's training images, or None.

    Cached features freeze one view of each image, which undoes augmentation; CutMix pastes
    image patches, so it needs images; MixUp of features would be a different method, so any
    mixing turns the cache off too.
    """
    if augments(augment_settings(recipe.augment, recipe.augment_options)):
        return "Augmentation is on: the feature cache is off, every epoch runs the backbone"
    if recipe.mixes():
        return "MixUp/CutMix is on: the feature cache is off, every epoch runs the backbone"
    return None


def imbalance_note(counts: Mapping[str, int], balance: str) -> LogMessage:
    """The log line on class sizes: a warning when imbalanced and nothing balances it."""
    imbalance = class_imbalance(counts)
    warn = imbalance.imbalanced and balance == "none"
    return LogMessage(imbalance.describe(balance), "warning" if warn else "info",
                      imbalance.remedies(balance))


def train_sampler(recipe: Recipe, labels: list[int], num_classes: int,
                  generator: torch.Generator) -> Sampler[int] | None:
    """The balancing sampler for the training loader (None: plain shuffling)."""
    if recipe.balance != "sampler":
        return None
    return balanced_sampler(labels, num_classes, generator)


def feature_sample_weights(recipe: Recipe, labels: torch.Tensor,
                           num_classes: int) -> torch.Tensor | None:
    """The same balancing for cached-feature batches (None: plain shuffling)."""
    return sample_weights(labels, num_classes) if recipe.balance == "sampler" else None


def mixed_batches(batches: Iterable[Batch], recipe: Recipe,
                  num_classes: int) -> Iterable[Batch]:
    """Training batches with MixUp/CutMix applied when the recipe asks for it."""
    mix = batch_mixing(recipe.mixup_alpha, recipe.cutmix_alpha, num_classes)
    return batches if mix is None else MixedBatches(batches, mix)
