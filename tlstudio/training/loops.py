"""One epoch of training and one evaluation pass, as plain functions over a model and batches.

The same two functions serve full fine-tuning (image batches) and the feature cache (feature
batches through the head alone), so there is one training step to read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from tlstudio.training.events import BatchEnded, StopSignal


@dataclass(frozen=True)
class EpochStats:
    loss: float
    accuracy: float
    images: int
    completed: bool  # False when a stop request ended the epoch early


def train_one_epoch(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    device: torch.device,
    epoch: int,
    emit: Callable[[BatchEnded], None],
    control: StopSignal,
    scheduler: LRScheduler | None = None,
) -> EpochStats:
    model.train()
    total = len(batches) if isinstance(batches, Sized) else 0
    loss_sum, correct, seen = 0.0, 0, 0
    start = time.perf_counter()
    for i, (x, y) in enumerate(batches, start=1):
        control.wait_if_paused()
        if control.stopped:
            return EpochStats(loss_sum / max(seen, 1), correct / max(seen, 1), seen, False)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        logits = model(x)
        loss = loss_fn(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr = optimizer.param_groups[0]["lr"]  # the rate this batch used
        if scheduler is not None:
            scheduler.step()
        batch_loss = loss.item()
        n = y.shape[0]
        loss_sum += batch_loss * n
        correct += int((logits.argmax(1) == y).sum())
        seen += n
        emit(BatchEnded(epoch, i, total, batch_loss, lr, n, time.perf_counter() - start))
    return EpochStats(loss_sum / max(seen, 1), correct / max(seen, 1), seen, True)


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: nn.Module,
    device: torch.device,
) -> EpochStats:
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        loss_sum += float(loss_fn(logits, y)) * y.shape[0]
        correct += int((logits.argmax(1) == y).sum())
        seen += y.shape[0]
    return EpochStats(loss_sum / max(seen, 1), correct / max(seen, 1), seen, True)
