"""Out-of-memory recovery: how many images go through the model at once, halved when a pass
runs out of memory and kept for the rest of the run (training, evaluation, feature extraction).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

from tlstudio.errors import TlstudioError
from tlstudio.training.events import Event, LogMessage

T = TypeVar("T")


class MicroBatch:
    """The run's micro-batch size: None until a batch runs out of memory, then the size that
    fits. One object per run, shared by every pass, so a reduction is found (and told) once.
    """

    def __init__(self, device: torch.device,
                 emit: Callable[[Event], None] = lambda event: None) -> None:
        self.device, self.emit = device, emit
        self.size: int | None = None  # images at once; None: whole batches fit so far

    def run(self, n: int, attempt: Callable[[int], T]) -> T:
        """``attempt(chunk)`` for a batch of ``n`` images, split into chunks of at most ``chunk``
        images; on out-of-memory the chunk is halved and the whole batch tried again."""
        while True:
            chunk = min(self.size or n, n)
            try:
                return attempt(chunk)
            except (torch.OutOfMemoryError, MemoryError):
                pass  # shrink outside the handler, once the failed pass's tensors are freed
            self._halve(chunk)

    def _halve(self, chunk: int) -> None:
        if chunk <= 1:
            raise TlstudioError(f"Out of memory on {self.device} even one image at a time: "
                                "choose a smaller backbone or image size, or freeze more of "
                                "the backbone")
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        self.size = chunk // 2
        self.emit(LogMessage(
            f"Out of memory on {self.device} with {chunk} images at once: continuing with "
            f"{self.size} at a time for the rest of the run (training accumulates gradients, "
            "so each step still sees the whole batch)", "warning"))
