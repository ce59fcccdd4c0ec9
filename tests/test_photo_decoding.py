"""Photos at full speed: JPEGs reduced in the DCT domain while decoding (never below what the
resize needs), and a disk cache of decoded, pre-resized photos that later epochs read instead
of the JPEG, bounded in size, safe against half-written files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_sample_image

from tlstudio.data import ImageCache, ImageFolderDataset, eval_transform, load_rgb, scan_folder
from tlstudio.data.augment import AugmentTransform
from tlstudio.errors import DatasetError


def write_photos(folder: Path, count: int, size: tuple[int, int] = (1600, 1200)) -> Path:
    """Large JPEGs cut from a real photo, two classes."""
    photo = Image.fromarray(load_sample_image("china.jpg")).resize(size, Image.BICUBIC)
    for i in range(count):
        target = folder / ("a" if i % 2 else "b")
        target.mkdir(parents=True, exist_ok=True)
        photo.rotate(i * 7).save(target / f"{i}.jpg", quality=90)
    return folder


def test_draft_decoding_keeps_at_least_the_resize_input_and_the_same_picture(tmp_path) -> None:
    path = write_photos(tmp_path, 1) / "b" / "0.jpg"
    reduced = load_rgb(path, 256)
    assert 256 <= min(reduced.size) < 1200 / 2  # DCT-reduced, never below the resize's input
    full, fast = eval_transform(224)(load_rgb(path)), eval_transform(224)(reduced)
    assert float((full - fast).abs().mean()) < 0.01  # the same picture, to a few levels
    assert load_rgb(path).size == (1600, 1200)  # inference still decodes fully


def test_epochs_after_the_first_read_no_jpeg(tmp_path, monkeypatch) -> None:
    data = write_photos(tmp_path / "photos", 4)
    cache = ImageCache(tmp_path / "cache")
    scan = scan_folder(data)
    cached = ImageFolderDataset(scan, eval_transform(64), cache)
    plain = ImageFolderDataset(scan, eval_transform(64))
    first = [cached[i][0] for i in range(4)]
    assert len(list((tmp_path / "cache").glob("*/*.npy"))) == 4

    def no_decoding(*args, **kwargs):
        raise AssertionError("a JPEG was opened")

    monkeypatch.setattr(Image, "open", no_decoding)
    again = [cached[i][0] for i in range(4)]
    monkeypatch.undo()
    for a, b, c in zip(first, again, (plain[i][0] for i in range(4)), strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)  # cache or not: the same pixels


def test_augmentation_works_from_a_cached_image_large_enough_for_its_crops(tmp_path,
                                                                           monkeypatch) -> None:
    data = write_photos(tmp_path / "photos", 2)
    transform = AugmentTransform(64, "strong")
    assert transform.decode_short_side > 64 / 0.875  # small crops need more pixels
    dataset = ImageFolderDataset(scan_folder(data), transform, ImageCache(tmp_path / "cache"))
    dataset[0]
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("a JPEG was opened"))
    image, _ = dataset[0]
    assert image.shape == (3, 64, 64)
    stored = np.load(next((tmp_path / "cache").glob("*/*.npy")))
    assert min(stored.shape[:2]) == transform.decode_short_side


def test_the_cache_stays_within_its_bound_keeping_the_recently_used(tmp_path) -> None:
    data = write_photos(tmp_path / "photos", 6)
    cache = ImageCache(tmp_path / "cache", max_bytes=0)
    paths = sorted(data.rglob("*.jpg"))
    for path in paths:
        cache.load(path, 128)
    one = next((tmp_path / "cache").glob("*/*.npy")).stat().st_size
    cache.max_bytes = 3 * one
    cache.load(paths[0], 128)  # used again: the most recent
    cache.trim()
    kept = list((tmp_path / "cache").glob("*/*.npy"))
    assert len(kept) == 3
    assert cache._entry(paths[0], 128) in kept


def test_a_damaged_or_half_written_entry_is_decoded_again(tmp_path) -> None:
    path = write_photos(tmp_path / "photos", 1) / "b" / "0.jpg"
    cache = ImageCache(tmp_path / "cache")
    good = np.asarray(cache.load(path, 100))
    entry = cache._entry(path, 100)
    entry.write_bytes(entry.read_bytes()[:50])  # as if cut short (an older, unsafe writer)
    assert np.array_equal(np.asarray(cache.load(path, 100)), good)
    assert not list((tmp_path / "cache").glob("*/*.tmp"))  # writes leave no temp files


def test_a_changed_photo_is_not_served_from_the_cache(tmp_path) -> None:
    path = write_photos(tmp_path / "photos", 1) / "b" / "0.jpg"
    cache = ImageCache(tmp_path / "cache")
    before = np.asarray(cache.load(path, 100))
    Image.new("RGB", (1600, 1200), (250, 0, 0)).save(path, quality=90)
    after = np.asarray(cache.load(path, 100))
    assert not np.array_equal(before, after) and after[..., 0].mean() > 200


def test_a_photo_removed_after_the_scan_is_a_clear_error(tmp_path) -> None:
    data = write_photos(tmp_path / "photos", 2)
    dataset = ImageFolderDataset(scan_folder(data), eval_transform(64),
                                 ImageCache(tmp_path / "cache"))
    Path(dataset.samples[0][0]).unlink()
    with pytest.raises(DatasetError, match="Rescan the folder"):
        dataset[0]
