"""Tests for tlstudio.data: decoding odd images, scanning folders, splits, transforms, demo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tlstudio.data import (
    DatasetScan,
    ImageFolderDataset,
    ScanCancelled,
    UnreadableImage,
    describe_eval_transform,
    eval_transform,
    load_rgb,
    scan_folder,
    stratified_split,
    write_digits_demo,
)
from tlstudio.errors import DatasetError


def save_rgb(path: Path, color=(200, 10, 10), size=(4, 3), fmt: str = "PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format=fmt)
    return path


def noisy_bytes(fmt: str) -> bytes:
    """A noisy image (so its compressed data is long enough to cut in half)."""
    import io

    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


def make_dataset(root: Path, counts: dict[str, int]) -> Path:
    for name, n in counts.items():
        for i in range(n):
            save_rgb(root / name / f"{i:03d}.png", color=(i, 0, 0))
    return root


# --- load_rgb --------------------------------------------------------------------------


def test_grayscale_and_bilevel_load_as_rgb(tmp_path):
    Image.new("L", (2, 2), 100).save(tmp_path / "g.png")
    Image.new("1", (2, 2), 1).save(tmp_path / "b.png")
    gray, bilevel = load_rgb(tmp_path / "g.png"), load_rgb(tmp_path / "b.png")
    assert gray.mode == "RGB" and gray.getpixel((0, 0)) == (100, 100, 100)
    assert bilevel.mode == "RGB" and bilevel.getpixel((1, 1)) == (255, 255, 255)


def test_palette_with_and_without_transparency(tmp_path):
    img = Image.new("P", (2, 1))
    img.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    img.putpixel((0, 0), 0)
    img.putpixel((1, 0), 1)
    img.save(tmp_path / "p.png")
    img.save(tmp_path / "pt.png", transparency=0)
    plain, transparent = load_rgb(tmp_path / "p.png"), load_rgb(tmp_path / "pt.png")
    assert plain.getpixel((0, 0)) == (0, 0, 0)
    assert plain.getpixel((1, 0)) == (10, 20, 30)
    assert transparent.getpixel((0, 0)) == (255, 255, 255)  # transparent index -> white
    assert transparent.getpixel((1, 0)) == (10, 20, 30)


def test_alpha_is_composited_onto_white(tmp_path):
    rgba = Image.new("RGBA", (2, 1), (255, 0, 0, 0))
    rgba.putpixel((1, 0), (255, 0, 0, 128))
    rgba.save(tmp_path / "a.png")
    Image.new("LA", (1, 1), (0, 0)).save(tmp_path / "la.png")
    out = load_rgb(tmp_path / "a.png")
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (255, 255, 255)
    r, g, b = out.getpixel((1, 0))
    assert r == 255 and 125 <= g <= 129 and g == b  # half red over white is pink
    assert load_rgb(tmp_path / "la.png").getpixel((0, 0)) == (255, 255, 255)


def test_16bit_scaled_by_fixed_range(tmp_path):
    arr = np.array([[0, 65535, 257 * 100]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "w.png")
    out = load_rgb(tmp_path / "w.png")
    assert out.mode == "RGB"
    assert [out.getpixel((x, 0)) for x in range(3)] == [(0,) * 3, (255,) * 3, (100,) * 3]
    # A narrow range is not stretched: the same value means the same pixel in every image.
    Image.fromarray(np.array([[257 * 10, 257 * 20]], dtype=np.uint16)).save(tmp_path / "n.png")
    assert load_rgb(tmp_path / "n.png").getpixel((1, 0)) == (20, 20, 20)


def test_cmyk_converted(tmp_path):
    Image.new("CMYK", (2, 2), (0, 255, 255, 0)).save(tmp_path / "c.tif")
    out = load_rgb(tmp_path / "c.tif")
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (255, 0, 0)


def test_exif_orientation_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    Image.new("RGB", (8, 4), (0, 128, 0)).save(tmp_path / "r.jpg", exif=exif)
    assert load_rgb(tmp_path / "r.jpg").size == (4, 8)


def test_detected_by_content_not_extension(tmp_path):
    save_rgb(tmp_path / "photo.txt", color=(1, 2, 3))
    assert load_rgb(tmp_path / "photo.txt").getpixel((0, 0)) == (1, 2, 3)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.png", b"hello, not an image\n", "not an image"),
        ("empty.jpg", b"", "empty file"),
        ("cut.png", noisy_bytes("PNG")[:3000], "truncated or corrupt image data"),
        ("cut.jpg", noisy_bytes("JPEG")[:3000], "truncated or corrupt image data"),
    ],
)
def test_bad_files_raise_with_reason(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UnreadableImage) as info:
        load_rgb(tmp_path / name)
    assert info.value.reason == reason


def test_missing_file_reason(tmp_path):
    with pytest.raises(UnreadableImage, match="file not found"):
        load_rgb(tmp_path / "nope.png")


# --- scan_folder ------------------------------------------------------------------------


def test_scan_finds_nested_skips_bad_and_hidden(tmp_path):
    make_dataset(tmp_path, {"cats": 2, "dogs": 1})
    save_rgb(tmp_path / "dogs" / "deep" / "deeper" / "d.png")
    save_rgb(tmp_path / "dogs" / "photo.txt")  # a PNG with the wrong extension: used
    (tmp_path / "cats" / "notes.png").write_text("not a picture")
    (tmp_path / "cats" / "cut.jpg").write_bytes(noisy_bytes("JPEG")[:3000])
    (tmp_path / "cats" / "empty.png").write_bytes(b"")
    save_rgb(tmp_path / "cats" / ".hidden.png")
    save_rgb(tmp_path / "cats" / ".thumbs" / "t.png")
    save_rgb(tmp_path / ".trash" / "x.png")
    save_rgb(tmp_path / "loose.png")

    scan = scan_folder(tmp_path)

    assert scan.classes == ("cats", "dogs")
    assert scan.counts() == {"cats": 2, "dogs": 3}
    assert len(scan) == 5
    names = [Path(p).relative_to(tmp_path).as_posix() for p, _ in scan.samples]
    assert names == [
        "cats/000.png",
        "cats/001.png",
        "dogs/000.png",
        "dogs/deep/deeper/d.png",
        "dogs/photo.txt",
    ]
    assert [label for _, label in scan.samples] == [0, 0, 1, 1, 1]
    assert all(Path(p).is_absolute() for p, _ in scan.samples)
    reasons = {Path(s.path).name: s.reason for s in scan.skipped}
    assert reasons == {
        "loose.png": "not inside a class folder",
        "notes.png": "not an image",
        "cut.jpg": "truncated or corrupt image data",
        "empty.png": "empty file",
    }
    assert scan.skipped[0].to_dict().keys() == {"path", "reason"}


def test_scan_reports_progress_and_can_cancel(tmp_path):
    make_dataset(tmp_path, {"a": 3, "b": 3})
    calls: list[tuple[int, int]] = []
    scan_folder(tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 6) and calls[-1] == (6, 6)
    with pytest.raises(ScanCancelled):
        scan_folder(tmp_path, cancel=lambda: True)


def test_one_class_needs_two(tmp_path):
    make_dataset(tmp_path, {"cats": 2})
    with pytest.raises(DatasetError, match="at least two class subfolders, found 1: 'cats'"):
        scan_folder(tmp_path)


def test_empty_classes_are_named(tmp_path):
    make_dataset(tmp_path, {"cats": 2})
    (tmp_path / "dogs").mkdir()
    (tmp_path / "birds").mkdir()
    (tmp_path / "birds" / "notes.txt").write_text("hi")
    with pytest.raises(DatasetError, match="Classes 'birds', 'dogs' have no readable images"):
        scan_folder(tmp_path)
    (tmp_path / "birds" / "notes.txt").unlink()
    (tmp_path / "birds").rmdir()
    with pytest.raises(DatasetError, match="Class 'dogs' has no readable images"):
        scan_folder(tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        scan_folder(tmp_path / "nowhere")


def test_validation_folder_uses_training_classes(tmp_path):
    train = scan_folder(make_dataset(tmp_path / "train", {"a": 1, "b": 1, "c": 1}))
    val = scan_folder(make_dataset(tmp_path / "val", {"c": 2}), classes=train.classes)
    assert val.classes == ("a", "b", "c")
    assert {label for _, label in val.samples} == {2}
    make_dataset(tmp_path / "val", {"zebra": 1})
    with pytest.raises(DatasetError, match="'zebra'"):
        scan_folder(tmp_path / "val", classes=train.classes)


# --- stratified_split -------------------------------------------------------------------


def _scan(counts: dict[str, int]) -> DatasetScan:
    classes = tuple(counts)
    samples = tuple(
        (f"/d/{name}/{i:03d}.png", label)
        for label, (name, n) in enumerate(counts.items())
        for i in range(n)
    )
    return DatasetScan("/d", classes, samples, ())


def test_split_keeps_every_class_on_both_sides():
    scan = _scan({"a": 2, "b": 3, "c": 40, "solo": 1})
    train, val = stratified_split(scan, 0.2, seed=0)
    assert val.counts() == {"a": 1, "b": 1, "c": 8, "solo": 0}
    assert train.counts() == {"a": 1, "b": 2, "c": 32, "solo": 1}
    assert set(train.samples).isdisjoint(val.samples)
    assert set(train.samples) | set(val.samples) == set(scan.samples)


def test_split_reproducible_per_seed_and_varies_across_seeds():
    scan = _scan({"a": 30, "b": 30})
    first, again = stratified_split(scan, 0.3, 1), stratified_split(scan, 0.3, 1)
    other = stratified_split(scan, 0.3, 2)
    assert first == again
    assert first[1].samples != other[1].samples


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_bad_fraction(fraction):
    with pytest.raises(DatasetError, match="between 0 and 1"):
        stratified_split(_scan({"a": 4, "b": 4}), fraction, 0)


# --- transforms and dataset -------------------------------------------------------------


def test_eval_transform_shape_range_and_crop():
    image = Image.new("RGB", (300, 150), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 20, 150))  # a blue strip on the left edge gets cropped
    out = eval_transform(224)(image)
    assert out.shape == (3, 224, 224) and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert torch.allclose(out[:, 112, 0], torch.tensor([1.0, 0.0, 0.0]), atol=1e-3)
    steps = describe_eval_transform(224)
    assert any("256 px" in s for s in steps) and any("224x224" in s for s in steps)


def test_dataset_items_and_vanished_file(tmp_path):
    scan = scan_folder(make_dataset(tmp_path, {"a": 1, "b": 1}))
    ds = ImageFolderDataset(scan, eval_transform(8))
    image, label = ds[1]
    assert image.shape == (3, 8, 8) and label == 1 and len(ds) == 2
    Path(scan.samples[0][0]).write_text("overwritten")
    with pytest.raises(DatasetError, match="000.png"):
        ds[0]


# --- demo -------------------------------------------------------------------------------


def test_digits_demo_layout_and_idempotent(tmp_path):
    dest = write_digits_demo(tmp_path / "digits", per_class=8, size=16, seed=0)
    train = scan_folder(dest / "train")
    val = scan_folder(dest / "val", classes=train.classes)
    assert train.classes == tuple(str(d) for d in range(10))
    assert set(train.counts().values()) == {6} and set(val.counts().values()) == {2}
    assert not train.skipped and not val.skipped
    first = Image.open(train.samples[0][0])
    assert first.mode == "L" and first.size == (16, 16)
    assert first.getpixel((0, 0)) == 255  # paper-white border, dark ink
    assert json.loads((dest / "demo.json").read_text())["per_class"] == 8
    stamp = (dest / "demo.json").stat().st_mtime_ns
    assert write_digits_demo(dest, per_class=8, size=16, seed=0) == dest
    assert (dest / "demo.json").stat().st_mtime_ns == stamp


def test_eval_transform_pickles_for_dataloader_workers():
    import pickle

    image = Image.new("RGB", (40, 30), (0, 255, 0))
    restored = pickle.loads(pickle.dumps(eval_transform(16)))
    assert torch.equal(restored(image), eval_transform(16)(image))


def test_demo_folder_is_readable_by_others_under_a_normal_umask(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        root = write_digits_demo(tmp_path / "demo", per_class=2, size=8)
    finally:
        os.umask(old)
    assert stat.S_IMODE(root.stat().st_mode) == 0o755  # not mkdtemp's private 0o700
