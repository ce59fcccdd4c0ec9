"""The DataLoader every training and evaluation pass uses: with or without worker processes
(auto: as many as help, `data.workers`), the same batches and the same domain error with the
same message for a problem with the data.

PyTorch re-raises a worker's exception as a new one of the same type whose message is the
worker's whole traceback; here that message is cut back to the original one. A random
(augmenting) transform gets a seed per image drawn in the main process, so an image is
augmented the same way whichever process decodes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, RandomSampler, Sampler, SequentialSampler

from tlstudio.data.workers import loader_workers
from tlstudio.errors import TlstudioError

_WORKER_PREFIX = "Caught "  # how PyTorch's ExceptionWrapper starts a re-raised message
_WORKER_MARK = " in DataLoader worker process "


class ImageLoader(DataLoader):
    """A torch DataLoader whose workers' TlstudioErrors read as they would without workers;
    `num_workers=None` chooses them (`loader_workers`)."""

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 sampler: Sampler[int] | None = None, generator: torch.Generator | None = None,
                 num_workers: int | None = 0, **kwargs: Any) -> None:
        if getattr(getattr(dataset, "transform", None), "random", False):
            order = sampler or (RandomSampler(dataset, generator=generator) if shuffle
                                else SequentialSampler(dataset))
            sampler, shuffle = SeededSampler(order, generator), False
        workers = loader_workers(num_workers, dataset)
        # Workers start afresh each pass: each pass then draws from `generator` as a loader
        # without workers does (persistent ones draw their seed once), so the data order of a
        # seeded run does not depend on the workers.
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler,
                         generator=generator, num_workers=workers, **kwargs)

    def __iter__(self) -> Iterator[Any]:
        return _unwrapped(super().__iter__())


class SeededSampler(Sampler[tuple[int, int]]):
    """(index, seed) in the order of `sampler`: the seeds come from `generator` in the main
    process (one draw per pass), so the random transform of each image is the same with any
    number of workers, and never draws from the training thread's random numbers."""

    def __init__(self, sampler: Sampler[int], generator: torch.Generator | None) -> None:
        self.sampler, self.generator = sampler, generator

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = list(self.sampler)  # the order is drawn first, as without seeds
        base = int(torch.randint(0, 2**62, (), generator=self.generator))
        return iter([(index, base + n) for n, index in enumerate(order)])


def _unwrapped(batches: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from batches
    except TlstudioError as e:
        original = worker_message(e)
        if original is None:
            raise
        raise type(e)(original) from None


def worker_message(error: BaseException) -> str | None:
    """The message `error` had in the worker, or None when it did not come from a worker."""
    text = str(error)
    first_line = text.split("\n", 1)[0]
    if not (first_line.startswith(_WORKER_PREFIX) and _WORKER_MARK in first_line):
        return None
    kind = type(error)
    marker = f"\n{kind.__module__}.{kind.__qualname__}: "
    at = text.rfind(marker)
    if at < 0:
        return None
    return text[at + len(marker):].rstrip("\n")
