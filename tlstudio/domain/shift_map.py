"""The domain-shift map as a PNG: source and target points in two colours on the first two
principal components, drawn with Pillow and written atomically."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageDraw

from tlstudio import atomic
from tlstudio.domain.shift import DomainShift

COLOURS = {"source": (31, 119, 180), "target": (255, 127, 14)}  # blue, orange


def draw_shift_map(shift: DomainShift, size: tuple[int, int] = (640, 480)) -> Image.Image:
    width, height = size
    left, right, top, bottom = 20, 20, 40, 20
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    xs, ys = [p.x for p in shift.points], [p.y for p in shift.points]
    x0, x1 = min(xs, default=0.0), max(xs, default=1.0)
    y0, y1 = min(ys, default=0.0), max(ys, default=1.0)
    span_x, span_y = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for point in shift.points:
        x = left + (point.x - x0) / span_x * (width - left - right)
        y = height - bottom - (point.y - y0) / span_y * (height - top - bottom)
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=COLOURS[point.domain])
    draw.text((left, 6), f"source ({shift.source_images})", fill=COLOURS["source"])
    draw.text((left + 150, 6), f"target ({shift.target_images})", fill=COLOURS["target"])
    draw.text((left, 20), f"domain accuracy {shift.domain_accuracy:.2f} (0.5 = no shift); "
                          "PCA of backbone features", fill="black")
    return image


def write_shift_map(shift: DomainShift, path: str | os.PathLike[str]) -> Path:
    buffer = io.BytesIO()
    draw_shift_map(shift).save(buffer, format="PNG")
    atomic.write_bytes(path, buffer.getvalue())
    return Path(path)
