"""MixUp and CutMix of training batches (torchvision.transforms.v2): images blended or patched
together, labels turned into the matching class proportions (soft targets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch
from torchvision.transforms import v2

Batch = tuple[torch.Tensor, torch.Tensor]


def batch_mixing(mixup_alpha: float, cutmix_alpha: float,
                 num_classes: int) -> Callable[[torch.Tensor, torch.Tensor], Batch] | None:
    """(images, class indices) -> (mixed images, soft targets [N, C]); None when both are 0.

    With both on, each batch gets one of the two, chosen at random (as timm and the torchvision
    references do).
    """
    mixers: list[Callable] = []
    if mixup_alpha > 0:
        mixers.append(v2.MixUp(alpha=mixup_alpha, num_classes=num_classes))
    if cutmix_alpha > 0:
        mixers.append(v2.CutMix(alpha=cutmix_alpha, num_classes=num_classes))
    if not mixers:
        return None
    return mixers[0] if len(mixers) == 1 else v2.RandomChoice(mixers)


class MixedBatches(Iterable[Batch]):
    """Training batches passed through a batch mixing; same length as the batches it wraps."""

    def __init__(self, batches: Iterable[Batch],
                 mix: Callable[[torch.Tensor, torch.Tensor], Batch]) -> None:
        self.batches, self.mix = batches, mix

    def __len__(self) -> int:
        return len(self.batches)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Batch]:
        for x, y in self.batches:
            yield self.mix(x, y)


def hard_labels(targets: torch.Tensor) -> torch.Tensor:
    """Class indices: as given, or each soft target's dominant class (for train accuracy)."""
    return targets.argmax(1) if targets.ndim > 1 else targets
