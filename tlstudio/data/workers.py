"""How many DataLoader worker processes decode images: the recipe's number, or with auto (None)
as many as help: none with one core or for a set whose decoding costs less than starting a
worker, else one per spare core (at most MAX_AUTO)."""

from __future__ import annotations

import os
from typing import Any

MAX_AUTO = 4  # more rarely helps a single training process and costs memory
SAMPLED = 32  # files whose sizes estimate the whole set's
WORTH_A_WORKER_S = 0.25  # estimated decoding seconds per pass below which workers cost more
PER_IMAGE_S = 0.0003  # opening, converting and collating a small image
BYTES_PER_S = 50e6  # compressed bytes decoded per second (JPEG in draft mode, PNG)


def available_cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def loader_workers(asked: int | None, dataset: Any) -> int:
    """`asked` when the recipe names a number; for auto (None) 0 or min(cores - 1, MAX_AUTO)."""
    if asked is not None:
        return asked
    cores = available_cores()
    if cores <= 1 or estimated_decode_seconds(dataset) < WORTH_A_WORKER_S:
        return 0
    return min(cores - 1, MAX_AUTO)


def estimated_decode_seconds(dataset: Any) -> float:
    """Seconds a pass spends reading the dataset's images, guessed from a few files' sizes
    (0 for a dataset that holds no image files, e.g. tensors in memory)."""
    samples = getattr(dataset, "samples", None)
    if not samples:
        return 0.0
    step = max(1, len(samples) // SAMPLED)
    sizes = []
    for path, _ in samples[::step][:SAMPLED]:
        try:
            sizes.append(os.path.getsize(path))
        except OSError:  # gone since the scan: the dataset will say so when it reads it
            continue
    mean = sum(sizes) / len(sizes) if sizes else 0.0
    return len(samples) * (PER_IMAGE_S + mean / BYTES_PER_S)
