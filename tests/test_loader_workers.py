"""Loader workers: auto starts them only where decoding costs more than starting them (never for
tiny sets, never on one core), and an augmented run trains the same with or without them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from imagefolders import write_class_folders

from tlstudio.data import ImageFolderDataset, ImageLoader, eval_transform, scan_folder
from tlstudio.data import workers as workers_module
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder, load_weights
from tlstudio.training import fit


def _photo_sized_files(root: Path, count: int) -> Path:
    """Files as large as phone photos (sparse: nothing is written); never decoded here."""
    for i in range(count):
        folder = root / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{i:03d}.jpg", "wb") as f:
            f.truncate(4_000_000)
    return root


def _loader_workers(root: Path, samples: list[tuple[str, int]], asked: int | None) -> int:
    scan = scan_folder(root)
    dataset = ImageFolderDataset(scan, eval_transform(16))
    dataset.samples = tuple(samples) if samples else scan.samples
    return ImageLoader(dataset, batch_size=4, num_workers=asked).num_workers


def test_auto_workers_decode_large_photos_on_spare_cores_and_leave_tiny_sets_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = write_class_folders(tmp_path / "tiny", {"red": 20, "blue": 20})
    photos = _photo_sized_files(tmp_path / "photos", 12)
    photo_samples = [(str(p), 0) for p in sorted(photos.rglob("*.jpg"))]
    monkeypatch.setattr(workers_module, "available_cores", lambda: 4)
    assert _loader_workers(tiny, [], None) == 0  # 40 small PNGs: a worker costs more
    assert _loader_workers(tiny, photo_samples, None) == 3  # one per spare core
    assert _loader_workers(tiny, photo_samples, 0) == 0  # a number in the recipe wins
    monkeypatch.setattr(workers_module, "available_cores", lambda: 16)
    assert _loader_workers(tiny, photo_samples, None) == workers_module.MAX_AUTO
    monkeypatch.setattr(workers_module, "available_cores", lambda: 1)
    assert _loader_workers(tiny, photo_samples, None) == 0  # one core: nothing to overlap


def test_an_augmented_run_trains_the_same_with_a_worker_as_without(tmp_path: Path) -> None:
    data = write_class_folders(tmp_path / "data", {"red": 6, "green": 6})
    base = Recipe(
        data_dir=str(data),
        backbone="tiny_cnn",
        image_size=16,
        batch_size=4,
        epochs=2,
        freeze="none",
        augment="strong",
        device="cpu",
        precision="fp32",
    )
    weights = []
    for workers in (0, 1):
        out = RunFolder.at(tmp_path / f"workers{workers}")
        fit(base.replace(out_dir=str(out.path), num_workers=workers))
        weights.append(load_weights(out.model_weights))
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
