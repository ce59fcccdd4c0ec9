"""Decode any image file PIL understands into an 8-bit RGB image, or say why it cannot.

Training, scanning and inference all decode through `load_rgb`, so they see the same pixels.
"""

from __future__ import annotations

import io
import math
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tlstudio.data.walk import not_a_file_reason
from tlstudio.errors import UnreadableImage

# Pillow warns (on the terminal) about images it still decodes: broken EXIF, palette
# transparency, sizes past MAX_IMAGE_PIXELS. The first two are handled below and the last is
# refused with a reason (_check_size), so none of them is news to the user. A process-wide
# filter, because warnings.catch_warnings is not thread-safe and scans decode in threads.
warnings.filterwarnings("ignore", module=r"PIL(\.|$)")

# Modes that hold integers wider than 8 bits (16-bit PNG/TIFF open as one of these).
_WIDE_INT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_WHITE = (255, 255, 255)


def load_rgb(path: str | os.PathLike[str], min_short_side: int | None = None) -> Image.Image:
    """Fully decode `path` (format detected by content) into an 8-bit RGB image.

    EXIF orientation is applied; transparency is composited onto white. With `min_short_side`
    (training and feature extraction) a JPEG is reduced in the DCT domain while decoding
    (Pillow's draft mode: 1/2, 1/4 or 1/8), never below that shorter side; inference decodes
    fully, as the exported preprocessing says. Raises UnreadableImage with a short reason.
    """
    try:
        not_a_file = not_a_file_reason(os.fspath(path))  # never open a pipe: it would block
        if not_a_file is not None:
            raise UnreadableImage(not_a_file)
        if os.path.getsize(path) == 0:
            raise UnreadableImage("empty file")
        return _decode(path, min_short_side)
    except FileNotFoundError as exc:
        raise UnreadableImage("file not found") from exc
    except PermissionError as exc:
        raise UnreadableImage("permission denied") from exc
    except IsADirectoryError as exc:
        raise UnreadableImage("is a folder, not a file") from exc


def decode_rgb(data: bytes) -> Image.Image:
    """`load_rgb` for an image already in memory (an upload): the same pixels, the same reasons."""
    if not data:
        raise UnreadableImage("empty file")
    return _decode(io.BytesIO(data))


def _decode(source: str | os.PathLike[str] | io.BytesIO,
            min_short_side: int | None = None) -> Image.Image:
    try:
        with Image.open(source) as img:
            _check_size(img)
            if min_short_side is not None:
                _draft(img, min_short_side)
            img.load()  # full decode now, so truncated files fail here and not mid-training
            return _to_rgb(_apply_orientation(img))
    except (UnreadableImage, FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except UnidentifiedImageError as exc:
        raise UnreadableImage("not an image") from exc
    except Image.DecompressionBombError as exc:
        raise UnreadableImage("image too large") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        # PIL reports broken data with any of these depending on the codec.
        raise UnreadableImage("truncated or corrupt image data") from exc


def _check_size(img: Image.Image) -> None:
    # PIL only *warns* between MAX_IMAGE_PIXELS and twice that; we refuse there too, with a
    # reason, rather than decode gigabytes. PIL's own limit stays in force (never disabled),
    # and an application that raises Image.MAX_IMAGE_PIXELS is respected.
    limit = Image.MAX_IMAGE_PIXELS
    width, height = img.size
    if limit is not None and width * height > limit:
        raise UnreadableImage(f"image too large ({width}x{height} pixels)")


def _draft(img: Image.Image, min_short_side: int) -> None:
    """Ask the JPEG decoder for the smallest DCT scale that keeps the shorter side at least
    `min_short_side` (the shorter side stays the shorter one under EXIF rotation)."""
    width, height = img.size
    scale = min_short_side / max(min(width, height), 1)
    if img.format == "JPEG" and scale < 0.5:
        img.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))


def _apply_orientation(img: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - broken EXIF should not lose an otherwise good image
        return img


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode in _WIDE_INT_MODES:
        return _wide_to_rgb(img)
    if mode == "F":
        return _float_to_rgb(img)
    if mode in _ALPHA_MODES or "transparency" in img.info:
        return _composite_on_white(img)
    try:
        # Covers L, 1, P, CMYK, YCbCr, RGBX; always returns a new image detached from the file.
        return img.convert("RGB")
    except ValueError as exc:
        raise UnreadableImage(f"unsupported image mode {mode}") from exc


def _wide_to_rgb(img: Image.Image) -> Image.Image:
    # Fixed scaling 0..65535 -> 0..255 (divide by 257), not a per-image stretch: the same
    # sensor value must give the same pixel in every image, and a client in another language
    # must reproduce inference preprocessing without knowing each image's range.
    values = np.asarray(img, dtype=np.float64)
    gray = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def _float_to_rgb(img: Image.Image) -> Image.Image:
    # Float images (32-bit TIFF) hold 0..1 by convention: a fixed scale, as for 16-bit.
    # Pillow's own convert would clip them to 0 or 1 of 255, i.e. a black image.
    values = np.asarray(img, dtype=np.float64)
    if not np.isfinite(values).all():
        raise UnreadableImage("floating-point image with NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        raise UnreadableImage(
            f"floating-point image with values from {low:g} to {high:g}; tlstudio reads "
            "float images as 0 (black) to 1 (white): rescale it, or save it as 8 or 16 bits"
        )
    gray = np.rint(values * 255.0).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def _composite_on_white(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, _WHITE + (255,))
    return Image.alpha_composite(background, rgba).convert("RGB")
