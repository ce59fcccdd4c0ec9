"""A head trained (or a scikit-learn head fitted) on cached features runs its torch work on one
CPU thread: its batches (32 x 1,280 floats for Lite0) are too small for a second thread to
help, and waking one for each small op cost far more than the op (measured on the shared
2-core machine under load: one epoch of the head over 150 images' features took 10 ms on one
thread and 900 ms on two)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from tlstudio.training.stages import FitState


@contextmanager
def head_threads(state: FitState) -> Iterator[None]:
    """One intra-op thread while only the head works on cached features on the CPU (domain
    adaptation, which may work on whole feature matrices, keeps the recipe's threads); the
    count before it afterwards."""
    if not state.use_cache or state.adaptation is not None or state.device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
