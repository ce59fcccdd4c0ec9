"""The comparison's chart: mean accuracy per strategy and backbone, the fold spread as a
whisker, drawn with Pillow (no plotting library) and written atomically as a PNG."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from tlstudio import atomic

ROW, LEFT, RIGHT, TOP = 26, 230, 70, 34


def write_chart(rows: list[dict[str, Any]], path: str | Path, best: dict[str, Any] | None,
                width: int = 720) -> Path:
    """One bar per compare.json strategy row (accuracy_mean ± accuracy_std, 0 to 100%)."""
    from PIL import Image, ImageDraw

    height = TOP + ROW * max(len(rows), 1) + 30
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    span = width - LEFT - RIGHT
    draw.text((8, 8), "Mean validation accuracy over the folds (whisker: ± one std)",
              fill="black")
    for i, row in enumerate(rows):
        y = TOP + i * ROW
        winner = best is not None and (row["strategy"], row["backbone"]) == (
            best["strategy"], best["backbone"])
        colour = "darkorange" if winner else "grey" if row["strategy"] == "scratch" else "navy"
        mean, std = row["accuracy_mean"], row["accuracy_std"]
        draw.text((8, y + 5), f"{row['strategy']} ({row['backbone']})"[:34], fill="black")
        draw.rectangle([LEFT, y + 4, LEFT + span * mean, y + ROW - 6], fill=colour)
        low, high = max(mean - std, 0.0), min(mean + std, 1.0)
        draw.line([(LEFT + span * low, y + ROW // 2 - 1), (LEFT + span * high, y + ROW // 2 - 1)],
                  fill="black", width=2)
        draw.text((LEFT + span + 6, y + 5), f"{mean:.1%}", fill="black")
    axis = TOP + ROW * max(len(rows), 1)
    draw.line([(LEFT, TOP), (LEFT, axis)], fill="black")
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        draw.text((LEFT + span * tick - 10, axis + 6), f"{tick:.0%}", fill="black")
    buffer = io.BytesIO()  # written atomically: a full disk leaves no half a PNG
    image.save(buffer, format="PNG")
    atomic.write_bytes(path, buffer.getvalue())
    return Path(path)
