"""The report's domain-shift section, for a run trained with target images: accuracy on the
source validation images against the labelled target images, the adaptation method and what
chose it, and the shift measured now (verdict, confidences, the 2-D map as a picture)."""

from __future__ import annotations

import os
from html import escape
from typing import Any

from tlstudio.domain import DomainShift, draw_shift_map, measure_shift
from tlstudio.errors import TlstudioError
from tlstudio.evaluation.html_images import img_tag
from tlstudio.runs import read_run_info

MAP_IMAGES = 200  # per domain on the report's map: enough to see the clouds, quick to compute
CHOSEN_BY = {
    "recipe": "the recipe (chosen by hand)",
    "target_accuracy": "auto: the best accuracy on the labelled target images",
}


def shift_section(
    run_dir: str | os.PathLike[str], metrics: dict[str, Any], recipe: dict[str, Any]
) -> list[str]:
    """`<section id="shift">`, or nothing when the run had no target images."""
    target_dir = recipe.get("target_dir")
    if not target_dir:
        return []
    try:
        shift: DomainShift | None = measure_shift(run_dir, target_dir, max_images=MAP_IMAGES)
        problem = ""
    except (TlstudioError, OSError) as e:
        shift, problem = None, str(e)
    parts = [
        '<section id="shift"><h2>Domain shift</h2>',
        f"<p>Target images: {escape(str(target_dir))}</p>",
        _accuracy_table(run_dir, metrics, shift),
        _method(metrics.get("adaptation") or {}),
    ]
    if shift is None:
        parts.append(f"<p>The shift could not be measured again: {escape(problem)}</p>")
    else:
        parts += [
            f'<p id="shift-verdict">Domain accuracy {shift.domain_accuracy:.2f} (0.5 = no '
            f"shift, 1.0 = fully separable; {shift.source_images} training vs "
            f"{shift.target_images} target images): {escape(shift.verdict)}.</p>",
            "<p>Each dot is an image on the first two principal components of the backbone's "
            "features of both sets: blue the training images, orange the target images.</p>",
            img_tag(draw_shift_map(shift), "domain shift map"),
        ]
    parts.append("</section>")
    return parts


def _accuracy_table(
    run_dir: str | os.PathLike[str], metrics: dict[str, Any], shift: DomainShift | None
) -> str:
    epoch = read_run_info(run_dir).saved_epoch()
    row = metrics.get("epochs", [])[epoch - 1] if epoch else {}
    source, target = row.get("val_accuracy"), row.get("target_accuracy")

    def cell(value: float | None, missing: str) -> str:
        return f"<td>{value:.1%}</td>" if isinstance(value, float) else f"<td>{missing}</td>"

    no_labels = "no labelled target images"
    confidence = (
        ""
        if shift is None
        else f"<tr><td>Mean confidence of the model</td>{cell(shift.source_confidence, '')}"
        f"{cell(shift.target_confidence, '')}</tr>"
    )
    return (
        '<table id="shift-accuracy"><tr><th></th><th>Source (validation images)</th>'
        "<th>Target (labelled target images)</th></tr>"
        f"<tr><td>Accuracy of the saved model (epoch {epoch or '-'})</td>"
        f"{cell(source, '-')}{cell(target, no_labels)}</tr>{confidence}</table>"
    )


def _method(adaptation: dict[str, Any]) -> str:
    method = adaptation.get("method", "none")
    chosen_by = adaptation.get("chosen_by", "recipe")
    candidates = adaptation.get("candidates") or {}
    tried = ", ".join(f"{escape(m)} {a:.1%}" for m, a in candidates.items())
    return (
        f'<p id="shift-method">Adaptation method: <b>{escape(method)}</b>, chosen by '
        f"{escape(CHOSEN_BY.get(chosen_by, chosen_by))}"
        + (f" (target accuracy of each method tried: {tried})" if tried else "")
        + ".</p>"
    )
