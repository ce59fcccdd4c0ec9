"""One epoch of training and one evaluation pass, as plain functions over a model and batches.

The same two functions serve full fine-tuning (image batches) and the feature cache (feature
batches through the head alone), so there is one training step to read. When a batch runs out
of memory, the run's MicroBatch splits it into smaller micro-batches (the training step
accumulates their gradients; evaluation just concatenates their outputs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from tlstudio.devices import memory_in_use_mb
from tlstudio.training.events import BatchEnded, Event, StopSignal
from tlstudio.training.micro_batch import MicroBatch
from tlstudio.training.mixing import hard_labels
from tlstudio.training.precision import FP32, PrecisionPlan

# A loss term beyond the labels' (domain adaptation): called with the model being trained,
# right after its forward pass over the batch's (first) micro-batch.
ExtraLoss = Callable[[nn.Module], torch.Tensor]


@dataclass(frozen=True)
class EpochStats:
    loss: float
    accuracy: float
    images: int
    completed: bool  # False when a stop request ended the epoch early
    probabilities: np.ndarray | None = None  # evaluate(): softmax per image [N, C], in order
    targets: np.ndarray | None = None  # evaluate(): true class index per image [N]


def train_one_epoch(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    device: torch.device,
    epoch: int,
    emit: Callable[[Event], None],
    control: StopSignal,
    scheduler: LRScheduler | None = None,
    precision: PrecisionPlan = FP32,
    scaler: torch.amp.GradScaler | None = None,  # fp16 loss scaling (PrecisionPlan.make_scaler)
    micro_batch: MicroBatch | None = None,  # the run's; kept across epochs after an OOM
    extra_loss: ExtraLoss | None = None,  # domain adaptation's term, added to each batch's loss
) -> EpochStats:
    model.train()
    micro_batch = micro_batch or MicroBatch(device, emit)
    total = len(batches) if isinstance(batches, Sized) else 0
    loss_sum, correct, seen = 0.0, 0, 0
    start = time.perf_counter()
    for i, (x, y) in enumerate(batches, start=1):
        control.wait_if_paused()
        if control.stopped:
            return EpochStats(loss_sum / max(seen, 1), correct / max(seen, 1), seen, False)
        x, y = precision.inputs(x.to(device, non_blocking=True)), y.to(device, non_blocking=True)
        logits, loss = train_step(model, x, y, optimizer, loss_fn, micro_batch, precision,
                                  scaler, extra_loss)
        lr = optimizer.param_groups[0]["lr"]  # the rate this batch used
        if scheduler is not None:
            scheduler.step()
        batch_loss = loss.item()
        n = y.shape[0]
        loss_sum += batch_loss * n
        correct += int((logits.argmax(1) == hard_labels(y)).sum())  # MixUp: dominant class
        seen += n
        emit(BatchEnded(epoch, i, total, batch_loss, lr, n, time.perf_counter() - start,
                        memory_in_use_mb(device)))
    return EpochStats(loss_sum / max(seen, 1), correct / max(seen, 1), seen, True)


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
               optimizer: torch.optim.Optimizer, loss_fn: nn.Module, micro_batch: MicroBatch,
               precision: PrecisionPlan = FP32, scaler: torch.amp.GradScaler | None = None,
               extra_loss: ExtraLoss | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on the batch's mean loss; (logits, loss) of the batch."""
    logits, loss = micro_batch.run(len(y), lambda chunk: _gradients(
        model, x, y, optimizer, loss_fn, chunk, precision, scaler, extra_loss))
    if scaler is not None:
        scaler.step(optimizer)  # skips the step when fp16 gradients overflowed
        scaler.update()
    else:
        optimizer.step()
    return logits, loss


def _gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
               optimizer: torch.optim.Optimizer, loss_fn: nn.Module, chunk: int,
               precision: PrecisionPlan = FP32, scaler: torch.amp.GradScaler | None = None,
               extra_loss: ExtraLoss | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of the batch's mean loss, accumulated over micro-batches of ``chunk``; an
    `extra_loss` is added once per batch, with the first micro-batch."""
    optimizer.zero_grad(set_to_none=True)
    logits, loss = [], torch.zeros((), device=y.device)
    for i, (xs, ys) in enumerate(zip(x.split(chunk), y.split(chunk), strict=True)):
        with precision.autocast_context():
            part_logits = model(xs)
            part_loss = loss_fn(part_logits, ys) * (len(ys) / len(y))  # the batch mean's share
            total = part_loss
            if extra_loss is not None and i == 0:
                total = part_loss + extra_loss(model)
        (scaler.scale(total) if scaler is not None else total).backward()
        logits.append(part_logits.detach())
        loss = loss + part_loss.detach()  # the labels' loss: what the epoch reports
    return torch.cat(logits), loss


def forward_in_chunks(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                      micro_batch: MicroBatch) -> torch.Tensor:
    """``forward(x)`` (no gradients), computed in the run's micro-batches: the same outputs."""
    return micro_batch.run(len(x), lambda chunk: torch.cat(
        [forward(part) for part in x.split(chunk)]))


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: nn.Module,
    device: torch.device,
    precision: PrecisionPlan = FP32,
    micro_batch: MicroBatch | None = None,  # the run's; splits a batch too big for memory
) -> EpochStats:
    """Loss and accuracy over unshuffled batches, with every image's class probabilities."""
    model.eval()
    micro_batch = micro_batch or MicroBatch(device)

    def forward(part: torch.Tensor) -> torch.Tensor:
        with precision.autocast_context():
            return model(part).float()

    loss_sum, correct, seen = 0.0, 0, 0
    probabilities, targets = [], []
    for x, y in batches:
        x, y = precision.inputs(x.to(device)), y.to(device)
        logits = forward_in_chunks(forward, x, micro_batch)
        loss_sum += float(loss_fn(logits, y)) * y.shape[0]
        correct += int((logits.argmax(1) == y).sum())
        seen += y.shape[0]
        probabilities.append(logits.float().softmax(1).cpu())
        targets.append(y.cpu())
    probs = torch.cat(probabilities).numpy() if probabilities else np.zeros((0, 0), np.float32)
    labels = torch.cat(targets).numpy() if targets else np.zeros(0, np.int64)
    return EpochStats(loss_sum / max(seen, 1), correct / max(seen, 1), seen, True, probs, labels)


def per_class_accuracy(stats: EpochStats, num_classes: int) -> tuple[float | None, ...]:
    """Recall of each class on the evaluated images (None for a class with no image)."""
    predicted = stats.probabilities.argmax(1)
    result = []
    for c in range(num_classes):
        mine = stats.targets == c
        result.append(float((predicted[mine] == c).mean()) if mine.any() else None)
    return tuple(result)
