"""The report's confidence section: a reliability diagram and the expected calibration error of
the run's model on its validation images, as trained and with its fitted temperature."""

from __future__ import annotations

import os
from html import escape

from tlstudio.errors import PredictionsError
from tlstudio.evaluation.calibration import (
    ReliabilityBin,
    expected_calibration_error,
    reliability_bins,
    with_temperature,
)
from tlstudio.evaluation.epochs import model_epoch
from tlstudio.runs import load_predictions, read_model_info

BEFORE_COLOUR, AFTER_COLOUR = "#999999", "#1f77b4"


def calibration_section(run_dir: str | os.PathLike[str]) -> str:
    """The section's HTML; a sentence when the run has no stored validation predictions."""
    try:
        stored = load_predictions(run_dir)
    except PredictionsError:
        return "<p>No stored validation predictions, so confidence cannot be assessed.</p>"
    if not stored.epochs:
        return "<p>No finished epoch.</p>"
    info = read_model_info(run_dir)
    epoch = model_epoch(run_dir, stored.epochs[-1])
    raw, targets = stored.probabilities(epoch), stored.targets
    series = {"as trained": (raw, BEFORE_COLOUR)}
    t = info.temperature
    if t != 1.0:
        series[f"with temperature {t:.2f}"] = (with_temperature(raw, t), AFTER_COLOUR)
    eces = {name: expected_calibration_error(p, targets) for name, (p, _) in series.items()}
    words = ", ".join(f"{v:.1%} {escape(k)}" for k, v in eces.items())
    note = ("The temperature was fitted on these same images, so the second figure is "
            "optimistic." if t != 1.0 else "Not calibrated: the model's confidence is as "
            "trained (temperature 1).")
    threshold = (f" Predictions below {info.unknown_below:.0%} are answered 'unknown'."
                 if info.unknown_below else "")
    return (
        f"<p>How often the model is right at each confidence, on the {len(targets)} "
        f"validation images (epoch {epoch}); a calibrated model follows the diagonal. "
        f'Expected calibration error: <span id="ece">{words}</span>. {note}{threshold}</p>'
        + reliability_svg({k: (reliability_bins(p, targets), c) for k, (p, c) in series.items()})
    )


def reliability_svg(series: dict[str, tuple[list[ReliabilityBin], str]],
                    size: int = 300) -> str:
    """Accuracy per confidence bin as bars side by side, with the diagonal of perfect calibration.
    Empty bins draw nothing."""
    left, top, pad = 40, 24, 30
    plot = size - left - 12

    def x(v: float) -> float:
        return left + plot * v

    def y(v: float) -> float:
        return top + plot * (1 - v)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size + pad}" '
        'role="img" aria-label="Reliability diagram" id="reliability">',
        f'<text x="{left}" y="16" font-size="13" font-weight="600">Reliability</text>',
        f'<rect x="{left}" y="{top}" width="{plot}" height="{plot}" fill="none" stroke="#ccc"/>',
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#d62728" '
        'stroke-dasharray="4 3"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">1</text>',
        f'<text x="{left - 4}" y="{y(0)}" font-size="10" text-anchor="end">0</text>',
        f'<text x="{left + plot / 2}" y="{y(0) + 24}" font-size="10" text-anchor="middle">'
        "confidence (top probability); bars: accuracy</text>",
    ]
    count = len(series)
    for i, (name, (bins, colour)) in enumerate(series.items()):
        for b in bins:
            if not b.count:
                continue
            width = (b.high - b.low) / count
            x0 = x(b.low + i * width)
            parts.append(
                f'<rect x="{x0:.1f}" y="{y(b.accuracy):.1f}" width="{plot * width:.1f}" '
                f'height="{plot * b.accuracy:.1f}" fill="{colour}" fill-opacity="0.8">'
                f"<title>{escape(name)}: {b.count} images, confidence {b.confidence:.0%}, "
                f"accuracy {b.accuracy:.0%}</title></rect>")
        parts.append(f'<text x="{left + 6}" y="{top + 14 + 13 * i}" font-size="11" '
                     f'fill="{colour}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)

