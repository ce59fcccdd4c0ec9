"""Images Pillow decodes oddly or noisily: 32-bit float TIFFs are scaled, not trained on as
black; Pillow's own warnings never reach the terminal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fault_commands import assert_no_traceback, run_tlstudio
from PIL import Image

from tlstudio.data import UnreadableImage, load_rgb


def _float_tiff(path: Path, values: np.ndarray) -> Path:
    Image.fromarray(values.astype(np.float32), mode="F").save(path)
    return path


def test_a_float_tiff_in_0_1_is_scaled_to_8_bits(tmp_path: Path) -> None:
    ramp = np.linspace(0.0, 1.0, 64).reshape(8, 8)
    pixels = np.asarray(load_rgb(_float_tiff(tmp_path / "ramp.tif", ramp)))
    assert pixels.shape == (8, 8, 3)
    assert (pixels[..., 0] == np.rint(ramp * 255)).all()
    assert pixels.max() == 255 and pixels.min() == 0


@pytest.mark.parametrize(("values", "reason"), [
    (np.full((8, 8), 40.0), "values from 40 to 40"),
    (np.full((8, 8), np.nan), "NaN"),
])
def test_a_float_tiff_outside_0_1_is_skipped_with_a_reason(tmp_path: Path, values, reason):
    with pytest.raises(UnreadableImage, match=reason):
        load_rgb(_float_tiff(tmp_path / "odd.tif", values))


def _noisy_images(folder: Path) -> Path:
    folder.mkdir()
    Image.new("1", (10_000, 9_000)).save(folder / "huge.png")  # DecompressionBombWarning
    exif = Image.Exif()
    exif[0x0112] = 3  # orientation
    raw = bytearray(exif.tobytes())
    raw[14:16] = b"\x00\x09"  # the IFD claims 9 entries and holds 1: "Corrupt EXIF data"
    Image.new("RGB", (8, 8), "red").save(folder / "exif.jpg", exif=bytes(raw))
    return folder


def test_pillow_warnings_do_not_reach_the_terminal(tmp_path: Path,
                                                   tiny_run: tuple[Path, Path]) -> None:
    run, _ = tiny_run
    done = run_tlstudio("predict", run, _noisy_images(tmp_path / "noisy"))
    err = assert_no_traceback(done)
    assert done.returncode == 0  # the corrupt EXIF loses nothing: the image is predicted
    assert "exif.jpg" in done.stdout.decode()
    assert "Warning" not in err and "EXIF" not in err
    huge = tmp_path / "noisy" / "huge.png"
    assert err.splitlines() == [f"skipped {huge}: image too large (10000x9000 pixels)"]
