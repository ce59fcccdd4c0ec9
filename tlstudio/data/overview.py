"""What the Data step tells a beginner before training: how many images of each class train and
how many validate (as `stratified_split` will make them), and whether the images are much
smaller than the image size the model is fed."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from PIL import Image, UnidentifiedImageError

from tlstudio.data.scan import DatasetScan, val_count

SIZE_SAMPLE = 200  # image headers read to judge the sizes: enough for a median, and quick
SMALL_FRACTION = 0.5  # images whose median short side is under half the image size are small


def split_counts(scan: DatasetScan, val_fraction: float) -> tuple[dict[str, int], dict[str, int]]:
    """(train, validate) images per class when `val_fraction` of each class is held out."""
    counts = scan.counts()
    val = {name: val_count(n, val_fraction) for name, n in counts.items()}
    return {name: n - val[name] for name, n in counts.items()}, val


def short_sides(scan: DatasetScan, limit: int = SIZE_SAMPLE) -> tuple[int, ...]:
    """The shorter side, in pixels, of up to `limit` images spread over the scan (headers only:
    no image is decoded)."""
    samples = scan.samples
    step = max(1, len(samples) // limit)
    sides = []
    for path, _ in samples[::step][:limit]:
        try:
            with Image.open(path) as image:
                sides.append(min(image.size))
        except (OSError, UnidentifiedImageError, ValueError):
            continue  # changed since the scan: the scan's verdict stands
    return tuple(sides)


def small_images_warning(sides: Sequence[int], image_size: int) -> str | None:
    """A beginner's warning when most images are much smaller than `image_size`; None if not."""
    if not sides:
        return None
    median = statistics.median(sides)
    if median >= SMALL_FRACTION * image_size:
        return None
    return (
        f"Your images are small: half of them are under {median:g} px on their shorter side, "
        f"but the model looks at {image_size} px. They are enlarged (blurry) for it, which "
        f"costs time and seldom helps. Consider a smaller image size (Show all settings, "
        f"step 4), e.g. {_suggested(median)} px."
    )


def _suggested(median: float) -> int:
    """A multiple of 8 near the median side, at least the smallest allowed (16)."""
    return max(16, int(round(median / 8)) * 8)
