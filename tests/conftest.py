"""Shared fixtures: tiny image datasets written into tmp_path, and an isolated torch hub cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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


@pytest.fixture
def colour_data(tmp_path: Path) -> Path:
    """Three easily separated classes, 8 images each."""
    return write_class_folders(tmp_path / "data", {"red": 8, "green": 8, "blue": 8})


@pytest.fixture
def hub_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache, so tests never see (or fill) the user's real one."""
    import torch

    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "_hub_dir", str(hub))
    return hub
