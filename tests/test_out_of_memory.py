"""Out-of-memory recovery: a batch too big for memory is split, and the step stays the same."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tlstudio.errors import TlstudioError
from tlstudio.training import LogMessage, RunControl
from tlstudio.training.loops import train_one_epoch


class RunsOutAbove(nn.Module):
    """A linear model that raises an out-of-memory error on more than ``limit`` images."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit, self.linear = limit, nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x) > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory (injected by the test)")
        return self.linear(x)


def _train(limit: int, events: list) -> nn.Module:
    torch.manual_seed(0)
    model = RunsOutAbove(limit)
    batches = [(torch.randn(8, 4), torch.randint(0, 3, (8,))) for _ in range(3)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    stats = train_one_epoch(model, batches, optimizer, nn.CrossEntropyLoss(),
                            torch.device("cpu"), 1, events.append, RunControl())
    assert stats.completed and stats.images == 24
    return model


def test_out_of_memory_halves_the_micro_batch_and_keeps_the_step() -> None:
    events: list = []
    roomy = _train(limit=8, events=[])
    tight = _train(limit=3, events=events)

    for a, b in zip(roomy.parameters(), tight.parameters(), strict=True):
        torch.testing.assert_close(a, b)  # gradient accumulation: the same update
    logs = [e.text for e in events if isinstance(e, LogMessage)]
    assert len(logs) == 2  # 8 -> 4 -> 2 in the first batch, then 2 for the rest
    assert "8 images at once" in logs[0] and "with 4 at a time" in logs[0]
    assert "with 2 at a time" in logs[1]


def test_out_of_memory_on_one_image_gives_up_clearly() -> None:
    with pytest.raises(TlstudioError, match="even one image at a time"):
        _train(limit=0, events=[])
