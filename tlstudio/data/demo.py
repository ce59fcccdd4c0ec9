"""A ready-made demo data set: scikit-learn's bundled 8x8 handwritten digits as PNG folders.

No download: the digits ship inside scikit-learn. Written atomically and only once, in one
place that the window's demo and ``tlstudio demo`` share (``demo_data_dir``), in either order.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image

from tlstudio import atomic
from tlstudio.errors import DatasetError

MARKER = "demo.json"
VAL_FRACTION = 0.25  # share of each class's images held out in val/
_MAX_VALUE = 16  # load_digits pixels are 0..16
_ABANDONED_AFTER_S = 3600


def default_demo_root() -> Path:
    """The demo's own folder: its data in ``digits/``, the headless demo's run in ``run/``."""
    return Path.home() / ".cache" / "tlstudio" / "demo"


def demo_data_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """Where the demo digits live under ``root`` (default: ``default_demo_root()``)."""
    return Path(root if root is not None else default_demo_root()) / "digits"


def write_digits_demo(
    dest: str | os.PathLike[str], per_class: int = 40, size: int = 32, seed: int = 0
) -> Path:
    """Write `dest/train/<digit>/NNNN.png` and `dest/val/<digit>/NNNN.png`; return `dest`.

    `per_class` images per digit in all, ~25% of them in val. Dark digits on white, 8-bit
    grayscale, `size` px square. A complete demo with the same parameters is reused as is.
    """
    dest = Path(os.path.abspath(dest))
    params = {
        "source": "sklearn.datasets.load_digits",
        "per_class": per_class,
        "size": size,
        "seed": seed,
        "val_fraction": VAL_FRACTION,
    }
    _remove_abandoned_copies(dest)
    if _existing_params(dest) == params:
        return dest
    if per_class < 2 or size < 8:
        raise DatasetError("The digits demo needs per_class >= 2 and size >= 8")
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Not mkdtemp: its folder is private (0o700); mkdir gives the umask's permissions.
    tmp = dest.parent / f".{dest.name}.{secrets.token_hex(6)}"
    tmp.mkdir()
    try:
        _write_images(tmp, per_class, size, seed)
        (tmp / MARKER).write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
        _replace_dir(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _remove_abandoned_copies(dest: Path) -> None:
    """Delete the half-written copies (``.<name>.<hex>``) and old demos (``.<name>.old``)
    that a killed writer of ``dest`` left: any over an hour old (a write takes seconds)."""
    pattern = re.compile(rf"^\.{re.escape(dest.name)}\.([0-9a-f]{{12}}|old)$")
    if not dest.parent.is_dir():
        return
    for path in dest.parent.iterdir():
        with contextlib.suppress(OSError):  # gone already, or another writer's
            if (pattern.match(path.name) and path.is_dir()
                    and time.time() - path.stat().st_mtime > _ABANDONED_AFTER_S):
                shutil.rmtree(path)


def _existing_params(dest: Path) -> dict[str, object] | None:
    try:
        return json.loads((dest / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_images(root: Path, per_class: int, size: int, seed: int) -> None:
    # Imported here: sklearn takes about a second to import and only the demo needs it.
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    n_val = max(1, round(per_class * VAL_FRACTION))
    for digit in range(10):
        indices = np.flatnonzero(digits.target == digit)
        if per_class > len(indices):
            raise DatasetError(f"The digits demo has only {len(indices)} images of '{digit}'")
        chosen = rng.choice(indices, size=per_class, replace=False)
        for split, part in (("val", chosen[:n_val]), ("train", chosen[n_val:])):
            folder = root / split / str(digit)
            folder.mkdir(parents=True)
            for index in sorted(part):
                _digit_image(digits.images[index], size).save(folder / f"{index:04d}.png")


def _digit_image(pixels: np.ndarray, size: int) -> Image.Image:
    # Inverted so the digit is dark on white, like ink on paper.
    gray = 255 - np.rint(pixels * (255 / _MAX_VALUE)).astype(np.uint8)
    return Image.fromarray(gray).resize((size, size), Image.Resampling.BILINEAR)


def _replace_dir(new: Path, dest: Path) -> None:
    """Rename `new` to `dest`; an old demo or empty folder there is replaced, nothing else."""
    if dest.exists():
        if not (dest / MARKER).exists() and any(dest.iterdir()):
            raise DatasetError(f"Folder '{dest}' already exists and is not a tlstudio demo")
    atomic.replace_folder(new, dest)
