"""Tiny labelled image folders for tests, written with PIL into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_class_folders(root: Path, classes: dict[str, int], size: int = 16, seed: int = 0) -> Path:
    """Write ``count`` small PNGs per class; each class has its own colour so it is learnable."""
    rng = np.random.default_rng(seed)
    for index, (name, count) in enumerate(classes.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        base = np.zeros(3)
        base[index % 3] = 200
        for i in range(count):
            noise = rng.integers(0, 40, size=(size, size, 3))
            pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return root
