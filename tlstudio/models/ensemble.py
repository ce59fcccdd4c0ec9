"""Several trained classifiers as one network: each member sees the single [0, 1] RGB input
resized to its own input size, and their class probabilities are averaged with weights or
combined by a linear stacking layer.

Its output is logits, as a Classifier's: softmax of them is the ensemble's probabilities, so
prediction, export and the parity checks treat an ensemble like any run's model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

# log of the mixed probabilities floors here: float32 underflow must not give -inf logits.
SMALLEST_PROBABILITY = 1e-30


class EnsembleModel(nn.Module):
    def __init__(
        self,
        members: Sequence[nn.Module],
        member_sizes: Sequence[int],
        image_size: int,
        weights: Sequence[float],
        stacker: nn.Linear | None = None,
    ) -> None:
        """`weights` mix the members' probabilities (they sum to 1); with a `stacker`, a
        linear layer over the members' concatenated probabilities gives the logits instead."""
        super().__init__()
        if not (len(members) == len(member_sizes) == len(weights)):
            raise ValueError("one input size and one weight per member")
        self.members = nn.ModuleList(members)
        self.member_sizes = tuple(int(s) for s in member_sizes)
        self.image_size = int(image_size)
        self.register_buffer("weights", torch.tensor(list(weights), dtype=torch.float32))
        self.stacker = stacker

    def member_probabilities(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each member's class probabilities for a batch at the ensemble's input size."""
        found = []
        for member, size in zip(self.members, self.member_sizes, strict=True):
            if size != self.image_size:  # decided when built: a fixed Resize in an export
                member_input = F.interpolate(x, size=(size, size), mode="bilinear",
                                             align_corners=False)
            else:
                member_input = x
            found.append(torch.softmax(member(member_input), dim=1))
        return found

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits whose softmax is the ensemble's class probabilities."""
        probabilities = self.member_probabilities(x)
        if self.stacker is not None:
            return self.stacker(torch.cat(probabilities, dim=1))
        mixed = (torch.stack(probabilities) * self.weights.view(-1, 1, 1)).sum(dim=0)
        return torch.log(mixed.clamp_min(SMALLEST_PROBABILITY))
