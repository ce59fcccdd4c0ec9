"""One self-contained HTML report of a run: summary, curves, metrics, confusion matrix, the
confidence (reliability, calibration error), the most confident mistakes with Grad-CAM, and the
recipe. Images are embedded; nothing is fetched, so the file can be mailed as it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from tlstudio import atomic
from tlstudio.data import UnreadableImage, load_rgb
from tlstudio.evaluation.html_images import img_tag
from tlstudio.evaluation.metrics import ClassMetrics, Evaluation
from tlstudio.evaluation.reliability_html import calibration_section
from tlstudio.evaluation.run_eval import ImageRecord, RunEvaluation, evaluate_run
from tlstudio.evaluation.saliency import saliency_views
from tlstudio.evaluation.shift_html import shift_section
from tlstudio.filenames import escape_undecodable
from tlstudio.runs import RunFolder, load_model
from tlstudio.runs.folder import read_json_or_empty
from tlstudio.writable import check_writable

MISTAKES = 8  # most confident mistakes shown
THUMBNAIL = 160  # px, the side of each embedded picture
CURVE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
UNDEFINED = "\u2014"  # shown for a recall or F1 that a class without images does not have
NO_IMAGES = "no images of this class"

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { padding: .25em .6em; border: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
table.confusion td { min-width: 2.5em; text-align: center; }
.curves { display: flex; gap: 2em; flex-wrap: wrap; }
.mistakes { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; font-size: .85em; } figure img { display: inline-block; margin-right: 4px; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dt { font-weight: 600; } dd { margin: 0; }
"""


def write_report(
    run_dir: str | os.PathLike[str],
    out_html: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None = None,
    evaluation: RunEvaluation | None = None,
) -> Path:
    """Evaluate the run (unless `evaluation` is given) and write the report atomically;
    OutputError before evaluating when `out_html` cannot be written."""
    check_writable(out_html)
    evaluation = evaluation or evaluate_run(run_dir, data_dir)
    # Paths may hold bytes that are not UTF-8 (tlstudio.filenames): shown as \xNN.
    atomic.write_text(out_html, escape_undecodable(render_report(run_dir, evaluation)))
    return Path(out_html)


def render_report(run_dir: str | os.PathLike[str], result: RunEvaluation) -> str:
    folder = RunFolder.at(run_dir)
    metrics, recipe = folder.read_metrics(), read_json_or_empty(folder.recipe)
    title = f"tlstudio report: {Path(os.path.abspath(run_dir)).name}"
    sections = [
        f"<h1>{escape(title)}</h1>",
        _summary(run_dir, result, metrics),
        *_ensemble_section(metrics),
        *shift_section(run_dir, metrics, recipe),
        "<h2>Training curves</h2>",
        _curves(metrics.get("epochs", [])),
        "<h2>Metrics</h2>",
        metrics_tables(result.evaluation),
        "<h2>Confusion matrix</h2>",
        "<p>Rows are the true classes, columns the predicted ones; the colour is the share "
        "of the row.</p>",
        confusion_table(result.evaluation),
        "<h2>Confidence</h2>",
        calibration_section(run_dir),
        "<h2>Most confident mistakes</h2>",
        _mistakes(run_dir, result.confident_mistakes(MISTAKES)),
        "<h2>Recipe</h2>",
        f"<pre>{escape(json.dumps(recipe, indent=2))}</pre>",
    ]
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def _summary(
    run_dir: str | os.PathLike[str], result: RunEvaluation, metrics: dict[str, Any]
) -> str:
    ev = result.evaluation
    items = [
        ("Run", os.path.abspath(run_dir)),
        ("Backbone", metrics.get("backbone", "?")),
        ("Classes", ", ".join(ev.classes)),
        ("Epochs trained", str(len(metrics.get("epochs", [])))),
        ("Evaluated on", f"{result.images} ({ev.total} images)"),
        ("Accuracy", f"{ev.accuracy:.1%}"),
    ]
    if "best_epoch" in metrics:
        items.insert(4, ("Model from epoch", str(metrics["best_epoch"])))
    if result.skipped:
        items.append(("Unreadable files", str(len(result.skipped))))
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items)
    return f'<dl id="summary">{rows}</dl>'


def _ensemble_section(metrics: dict[str, Any]) -> list[str]:
    """An ensemble's members and itself, scored on the validation images they share."""
    members, ensemble = metrics.get("members"), metrics.get("ensemble")
    if not isinstance(members, list) or not isinstance(ensemble, dict):
        return []
    stacked = ensemble.get("method") == "stacking"
    rows = [(Path(m["run"]).name, m["backbone"], str(m["image_size"]),
             "-" if stacked else f"{m['weight']:.3f}", m["accuracy"], m["macro_f1"])
            for m in members]
    rows.append((f"ensemble ({ensemble['method']})", "", "", "", ensemble["accuracy"],
                 ensemble["macro_f1"]))
    body = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(backbone)}</td><td>{size}</td>"
        f"<td>{weight}</td><td>{accuracy:.1%}</td><td>{f1:.3f}</td></tr>"
        for name, backbone, size, weight, accuracy, f1 in rows)
    note = f"<p>{escape(ensemble.get('note', ''))}</p>" if ensemble.get("note") else ""
    return [
        "<h2>Ensemble</h2>",
        f"<p>On the {ensemble['images']} validation images the members share; the ensemble's "
        f"row: {escape(ensemble['scoring'])}.</p>{note}",
        '<table id="ensemble"><tr><th>Member</th><th>Backbone</th><th>Input</th>'
        f"<th>Weight</th><th>Accuracy</th><th>Macro-F1</th></tr>{body}</table>",
    ]


def _curves(epochs: Sequence[dict[str, Any]]) -> str:
    if not epochs:
        return "<p>No finished epoch.</p>"
    loss = {k: [e.get(k) for e in epochs] for k in ("train_loss", "val_loss")}
    accuracy = {k: [e.get(k) for e in epochs] for k in ("train_accuracy", "val_accuracy")}
    return (
        f'<div class="curves">{line_chart("Loss", loss)}'
        f"{line_chart('Accuracy', accuracy, y_range=(0.0, 1.0))}</div>"
    )


def line_chart(
    title: str,
    series: dict[str, list[float | None]],
    y_range: tuple[float, float] | None = None,
    width: int = 420,
    height: int = 240,
) -> str:
    """An inline SVG chart of per-epoch values, one polyline per series."""
    left, right, top, bottom = 48, 12, 24, 32
    values = [v for vs in series.values() for v in vs if v is not None]
    if not values:
        return ""
    low, high = y_range or (min(values), max(values))
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    n = max(len(vs) for vs in series.values())

    def x(i: int) -> float:
        return left + (width - left - right) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - low) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}" fill="none" stroke="#ccc"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{high:.3g}</text>',
        f'<text x="{left - 4}" y="{height - bottom}" font-size="10" '
        f'text-anchor="end">{low:.3g}</text>',
        f'<text x="{x(0)}" y="{height - bottom + 14}" font-size="10" text-anchor="middle">1</text>',
        f'<text x="{x(n - 1)}" y="{height - bottom + 14}" font-size="10" '
        f'text-anchor="middle">{n}</text>',
        f'<text x="{width / 2}" y="{height - 4}" font-size="10" text-anchor="middle">epoch</text>',
    ]
    for i, (name, vs) in enumerate(series.items()):
        colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
        points = " ".join(f"{x(j):.1f},{y(v):.1f}" for j, v in enumerate(vs) if v is not None)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{points}"><title>{escape(name)}</title></polyline>'
        )
        parts.append(
            f'<text x="{width - right - 4}" y="{top + 14 + 13 * i}" font-size="11" '
            f'text-anchor="end" fill="{colour}">{escape(name.replace("_", " "))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def metrics_tables(ev: Evaluation) -> str:
    """`<table id="metrics">`: exactly one body row per class; the averages in their own
    table. Each number cell carries its unrounded value in `data-value`."""
    head = (
        "<thead><tr><th>class</th><th>precision</th><th>recall</th><th>f1</th>"
        "<th>support</th></tr></thead>"
    )
    per_class = "".join(_metrics_row(row) for row in ev.per_class)
    averages = "".join(_metrics_row(row) for row in (ev.macro, ev.weighted))
    accuracy = (
        f'<p>Accuracy: <span id="accuracy" data-value="{ev.accuracy!r}">'
        f"{ev.accuracy:.3f}</span></p>"
    )
    note = ev.absent_note()
    note = f'<p id="absent">{escape(note)}</p>' if note else ""
    return (
        f'{accuracy}{note}<table id="metrics">{head}<tbody>{per_class}</tbody></table>'
        f'<table id="averages">{head}<tbody>{averages}</tbody></table>'
    )


def _metrics_row(row: ClassMetrics) -> str:
    cells = "".join(_number_cell(v) for v in (row.precision, row.recall, row.f1))
    return (
        f"<tr><td>{escape(row.name)}</td>{cells}"
        f'<td data-value="{row.support}">{row.support}</td></tr>'
    )


def _number_cell(value: float | None) -> str:
    """A rounded number with its exact value in `data-value`; "—" (no `data-value`) when
    the number is undefined because the class has no images."""
    if value is None:
        return f'<td title="{NO_IMAGES}">{UNDEFINED}</td>'
    return f'<td data-value="{value!r}">{value:.3f}</td>'


def confusion_table(ev: Evaluation) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in ev.classes)
    rows = []
    for true, counts in zip(ev.classes, ev.confusion, strict=True):
        total = sum(counts) or 1
        cells = []
        for j, count in enumerate(counts):
            share = count / total
            hue = 210 if ev.classes[j] == true else 0  # blue on the diagonal, red off it
            colour = "#fff" if share > 0.55 else "#222"
            cells.append(
                f'<td style="background:hsl({hue},70%,{100 - 55 * share:.0f}%);'
                f'color:{colour}" title="{share:.0%} of {escape(true)}">{count}</td>'
            )
        rows.append(f"<tr><th>{escape(true)}</th>{''.join(cells)}</tr>")
    return (
        f'<table class="confusion" id="confusion"><thead><tr><th>true \\ predicted</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _mistakes(run_dir: str | os.PathLike[str], records: Sequence[ImageRecord]) -> str:
    if not records:
        return "<p>No mistakes on these images.</p>"
    model, info = load_model(run_dir)
    figures = []
    for record in records:
        try:
            image = load_rgb(record.path)
        except UnreadableImage as e:
            figures.append(f"<figure>{escape(record.path)}: {escape(e.reason)}</figure>")
            continue
        view, heat = saliency_views(model, info.image_size, image,
                                    info.classes.index(record.predicted), THUMBNAIL)
        caption = (
            f"{escape(Path(record.path).name)}<br>true: {escape(record.true)}<br>"
            f"predicted: {escape(record.predicted)} ({record.confidence:.0%})"
        )
        figures.append(
            f'<figure class="mistake">{img_tag(view, "image")}'
            f"{img_tag(heat, 'Grad-CAM of the predicted class')}"
            f"<figcaption>{caption}</figcaption></figure>"
        )
    return f'<div class="mistakes">{"".join(figures)}</div>'
