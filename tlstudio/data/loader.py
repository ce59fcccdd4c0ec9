"""The DataLoader every training and evaluation pass uses: with or without worker processes,
a problem with the data surfaces as the same domain error with the same message.

PyTorch re-raises a worker's exception as a new one of the same type whose message is the
worker's whole traceback; here that message is cut back to the original one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader

from tlstudio.errors import TlstudioError

_WORKER_PREFIX = "Caught "  # how PyTorch's ExceptionWrapper starts a re-raised message
_WORKER_MARK = " in DataLoader worker process "


class ImageLoader(DataLoader):
    """A torch DataLoader whose workers' TlstudioErrors read as they would without workers."""

    def __iter__(self) -> Iterator[Any]:
        return _unwrapped(super().__iter__())


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
