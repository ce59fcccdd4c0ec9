"""An on-disk cache of decoded, pre-resized photos, so epochs after the first read no JPEG.

Keyed by the file's absolute path, modification time and size, and the shorter side kept; held
in the user's cache folder (`TLSTUDIO_CACHE_DIR`, else `$XDG_CACHE_HOME/tlstudio`, else
`~/.cache/tlstudio`) under `images/`, as raw uint8 arrays (.npy) bounded in total size, the
least recently used removed first. Safe with several runs at once and against kills: a file
appears whole (temp file, then rename) or not at all; an unreadable one is a miss.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from tlstudio.data.images import load_rgb

DEFAULT_MAX_BYTES = 10 * 2**30  # 10 GiB: ~150,000 photos kept at 256 px
WORTH_CACHING = 2.0  # cache a photo only when its file holds this many times the pixels
TRIM_EVERY = 500  # writes between size checks, per process
STALE_TEMP_SECONDS = 3600  # a temp file this old belongs to a killed writer


def default_cache_dir() -> Path:
    """Where decoded images are cached."""
    if os.environ.get("TLSTUDIO_CACHE_DIR"):
        return Path(os.environ["TLSTUDIO_CACHE_DIR"]) / "images"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "tlstudio" / "images"


@dataclass
class ImageCache:
    """Decoded photos reduced to a shorter side, read from disk after their first decode."""

    root: Path = field(default_factory=default_cache_dir)
    max_bytes: int = DEFAULT_MAX_BYTES  # the cache's size bound; older entries go first
    writes: int = 0  # since the last size check, in this process

    def load(self, path: str | os.PathLike[str], short_side: int) -> Image.Image:
        """The photo decoded (draft mode) and resized so its shorter side is `short_side`
        (bicubic, as the eval transform resizes), from the cache when it is there."""
        entry = self._entry(path, short_side)
        cached = _read(entry)
        if cached is not None:
            return cached
        image = shrink(load_rgb(path, short_side), short_side)
        if _pixels(path) >= WORTH_CACHING * image.width * image.height:
            self._write(entry, image)
        return image

    def _entry(self, path: str | os.PathLike[str], short_side: int) -> Path:
        source = Path(path).resolve()
        stat = source.stat()
        key = f"{source}\0{stat.st_mtime_ns}\0{stat.st_size}\0{short_side}"
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
        return self.root / digest[:2] / f"{digest}.npy"

    def _write(self, entry: Path, image: Image.Image) -> None:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(image), allow_pickle=False)
        temp = entry.with_name(f".{entry.stem}.{uuid.uuid4().hex}.tmp")
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            temp.write_bytes(buffer.getvalue())
            os.replace(temp, entry)  # whole or not at all, also with another writer
        except OSError:  # a full or read-only cache only costs speed
            temp.unlink(missing_ok=True)
            return
        self.writes += 1
        if self.writes >= TRIM_EVERY:
            self.trim()

    def trim(self) -> None:
        """Remove the least recently used entries (and killed writers' temp files) until the
        cache holds at most `max_bytes`."""
        self.writes = 0
        entries, now = [], time.time()
        for file in self.root.glob("*/*"):
            try:
                stat = file.stat()
            except OSError:
                continue  # removed by another process meanwhile
            if file.suffix == ".tmp":
                if now - stat.st_mtime > STALE_TEMP_SECONDS:
                    file.unlink(missing_ok=True)
                continue
            entries.append((stat.st_mtime, stat.st_size, file))
        total = sum(size for _, size, _ in entries)
        for _, size, file in sorted(entries):
            if total <= self.max_bytes:
                break
            file.unlink(missing_ok=True)
            total -= size


def shrink(image: Image.Image, short_side: int) -> Image.Image:
    """`image` with its shorter side reduced to `short_side` (never enlarged)."""
    if min(image.size) <= short_side:
        return image
    return F.resize(image, [short_side], interpolation=InterpolationMode.BICUBIC,
                    antialias=True)


def _pixels(path: str | os.PathLike[str]) -> int:
    """The pixels the file holds (its header only; it decoded a moment ago)."""
    with Image.open(path) as image:
        return image.width * image.height


def _read(entry: Path) -> Image.Image | None:
    try:
        pixels = np.load(entry, allow_pickle=False)
        os.utime(entry)  # recently used: kept longest
    except (OSError, ValueError, EOFError):
        return None  # absent, evicted meanwhile, or unreadable: decode again
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        return None
    return Image.fromarray(pixels)
