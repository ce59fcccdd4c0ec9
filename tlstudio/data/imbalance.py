"""Class imbalance: how uneven the classes are, and the two remedies a recipe can ask for
(a weighted sampler that draws rare classes more often, or a class-weighted loss).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import WeightedRandomSampler

from tlstudio.errors import Remedy

IMBALANCE_RATIO = 3.0  # largest / smallest class at which a data set counts as imbalanced
REMEDIES = {"sampler": "a weighted sampler (rare classes drawn more often)",
            "loss": "a class-weighted loss"}


@dataclass(frozen=True)
class Imbalance:
    ratio: float  # images in the largest class / images in the smallest (inf if one has none)
    largest: str  # name of the class with the most images
    smallest: str  # name of the class with the fewest images
    imbalanced: bool  # ratio >= IMBALANCE_RATIO: worth a warning and a remedy
    counts: tuple[tuple[str, int], ...] = ()  # (class, images) as given

    def describe(self, balance: str = "none") -> str:
        """In words; an imbalanced set gets a suggestion, or the remedy ``balance`` names."""
        counts = dict(self.counts)
        if self.largest == self.smallest:  # every class the same size (ties name the first)
            return f"Classes are balanced: each has {counts.get(self.largest, '?')} images"
        sizes = (f"'{self.largest}' has {counts.get(self.largest, '?')} images, "
                 f"'{self.smallest}' has {counts.get(self.smallest, '?')}")
        if not self.imbalanced:
            return f"Classes are balanced enough ({sizes}, ratio {self.ratio:.1f} to 1)"
        text = f"Classes are imbalanced: {sizes} ({self.ratio:.1f} to 1)"
        if balance in REMEDIES:
            return f"{text}; balancing with {REMEDIES[balance]}"
        return f"{text}. The model may favour the large classes"

    def remedies(self, balance: str = "none") -> tuple[Remedy, ...]:
        """What `describe` leaves the front-end to suggest: balancing, if nothing balances."""
        return (Remedy.BALANCE,) if self.imbalanced and balance not in REMEDIES else ()


def class_imbalance(counts: Mapping[str, int]) -> Imbalance:
    """The ratio of the largest class to the smallest (ties go to the first class named)."""
    if not counts:
        raise ValueError("no classes to compare")
    largest = max(counts, key=lambda name: counts[name])
    smallest = min(counts, key=lambda name: counts[name])
    low, high = counts[smallest], counts[largest]
    ratio = high / low if low else float("inf")
    return Imbalance(ratio, largest, smallest, ratio >= IMBALANCE_RATIO, tuple(counts.items()))


def class_weights(counts: Sequence[int]) -> torch.Tensor:
    """N / (C * count) per class: 1.0 for every class when balanced; rarer classes weigh more.

    A class without images gets weight 0 (it never appears, so its weight never matters).
    """
    counts_t = torch.tensor(counts, dtype=torch.float64)
    total, num_classes = counts_t.sum(), len(counts)
    weights = torch.where(counts_t > 0, total / (num_classes * counts_t.clamp(min=1)), 0.0)
    return weights.float()


def sample_weights(labels: Sequence[int] | torch.Tensor, num_classes: int) -> torch.Tensor:
    """Each sample's drawing weight, so every class is drawn equally often on average."""
    labels_t = torch.as_tensor(labels, dtype=torch.long).cpu()
    counts = torch.bincount(labels_t, minlength=num_classes).tolist()
    return class_weights(counts).double()[labels_t]


def balanced_sampler(labels: Sequence[int], num_classes: int,
                     generator: torch.Generator) -> WeightedRandomSampler:
    """Draws as many samples per epoch as there are, with replacement, classes evened out."""
    return WeightedRandomSampler(sample_weights(labels, num_classes), num_samples=len(labels),
                                 replacement=True, generator=generator)
