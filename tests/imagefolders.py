"""Tiny labelled image folders (and tiny runs trained on them) for tests."""

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


def train_tiny_run(base: Path, classes: dict[str, int]) -> tuple[Path, Path]:
    """Write class folders under ``base`` and train a 2-epoch tiny_cnn run on them."""
    from tlstudio.recipe import Recipe
    from tlstudio.training import fit

    data = write_class_folders(base / "data", classes)
    out = base / "run"
    fit(Recipe(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", epochs=2,
               image_size=16, batch_size=8, freeze="none", val_split=0.25))
    return out, data


def write_photo_crops(root: Path, per_class: int = 10, crop: int = 64, seed: int = 0) -> Path:
    """Real images: grey crops of scikit-learn's two sample photos, one class per half of each
    photo (4 classes); grey so that texture and shape, not colour, tell them apart."""
    from sklearn.datasets import load_sample_image

    rng = np.random.default_rng(seed)
    for name in ("china.jpg", "flower.jpg"):
        photo = load_sample_image(name).mean(2)
        height, width = photo.shape
        for half in range(2):
            folder = root / f"{name.split('.')[0]}_{'top' if half == 0 else 'bottom'}"
            folder.mkdir(parents=True, exist_ok=True)
            top = half * height // 2
            for i in range(per_class):
                y = rng.integers(top, top + height // 2 - crop)
                x = rng.integers(0, width - crop)
                patch = photo[y : y + crop, x : x + crop].astype(np.uint8)
                Image.fromarray(patch).convert("RGB").save(folder / f"{i:03d}.png")
    return root


def strongly_shifted(source: Path, target: Path) -> Path:
    """A flat copy of the PNGs under `source`, as darker negatives: a shift any backbone sees."""
    for path in sorted(source.rglob("*.png")):
        pixels = np.asarray(Image.open(path), dtype=np.float32)
        inverted = (255 - pixels) * 0.6  # darker negatives: a strong change of exposure/colour
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(inverted.astype(np.uint8)).save(target / f"{path.parent.name}-{path.name}")
    return target
