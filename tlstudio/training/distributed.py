"""Training under torchrun: which process this is, how the recipe's global batch is shared, and
the DistributedDataParallel wrapper; a plain run is world size 1 and none of this applies.

Every process draws the same global batches (same seed, same order) and takes its own equal
slice of each, so N processes see exactly what one process would, batch for batch; DDP averages
the gradients. Only rank 0 writes the run folder and reports progress.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterable, Iterator, Sized
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Sampler

from tlstudio.errors import RecipeError


@dataclass(frozen=True)
class Distributed:
    """This process's place in a torchrun job."""

    rank: int = 0  # 0 writes the run folder and prints progress
    world_size: int = 1  # processes training together
    local_rank: int = 0  # the GPU of this process on its machine

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def from_environment() -> Distributed:
    """The job torchrun describes in RANK / WORLD_SIZE / LOCAL_RANK (world size 1 without)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    return Distributed(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def is_main_process() -> bool:
    """Whether this process prints and writes (rank 0, or not under torchrun)."""
    return from_environment().main


def join(device: torch.device) -> tuple[Distributed, torch.device]:
    """Join the process group (once per process) and pick this process's GPU on CUDA."""
    job = from_environment()
    if not job.active:
        return job, device
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", job.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(_leave)
    return job, device


def _leave() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def local_batch_size(job: Distributed, batch_size: int) -> int:
    """Each process's share of the recipe's (global) batch."""
    if batch_size % job.world_size:
        raise RecipeError(f"The batch size ({batch_size}) must be a multiple of the number of "
                          f"processes ({job.world_size}): the batch is shared equally among them")
    return batch_size // job.world_size


def check_recipe(job: Distributed, recipe: Any) -> None:
    """What a distributed run cannot do yet, said before any work."""
    if job.active and recipe.head_epochs:
        raise RecipeError("Two-phase fine-tuning (head epochs) is not available with torchrun "
                          "yet: the trainable parameters change between phases")
    if job.active:
        local_batch_size(job, recipe.batch_size)


def _share(indices: list[int] | torch.Tensor, job: Distributed) -> Any:
    """This process's equal part of one global batch (empty when it is smaller than the job)."""
    parts = np.array_split(np.arange(len(indices)), job.world_size)
    if len(indices) < job.world_size:
        return indices[:0]  # every process skips it alike (see RankBatchSampler)
    part = parts[job.rank]
    return indices[int(part[0]):int(part[-1]) + 1]


class RankBatchSampler(Sampler[list[int]]):
    """The global batches of `sampler` (what one process would draw), this process's slice of
    each; a last batch smaller than the number of processes is left out by all of them."""

    def __init__(self, sampler: Iterable[int], batch_size: int, job: Distributed) -> None:
        self.sampler, self.batch_size, self.job = sampler, batch_size, job

    def __len__(self) -> int:
        n = len(self.sampler) if isinstance(self.sampler, Sized) else 0
        full, rest = divmod(n, self.batch_size)
        return full + (rest >= self.job.world_size)

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(int(index))
            if len(batch) == self.batch_size:
                yield _share(batch, self.job)
                batch = []
        if len(batch) >= self.job.world_size:
            yield _share(batch, self.job)


class RankBatches(Iterable[tuple[torch.Tensor, torch.Tensor]]):
    """This process's slice of each global batch of cached features."""

    def __init__(self, batches: Any, job: Distributed) -> None:
        self.batches, self.job = batches, job

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.batches:
            if len(y) >= self.job.world_size:
                yield _share(x, self.job), _share(y, self.job)


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """`model` in DistributedDataParallel (gradients averaged across the processes)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def reduce_sums(job: Distributed, *values: float) -> tuple[float, ...]:
    """The sums of `values` over all processes (as they are in a plain run)."""
    if not job.active:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return tuple(float(v) for v in t.cpu())
