"""Exports side by side as a table: what each keeps of the trained model and what it costs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

COLUMNS = ("format", "size", "latency", "agreement", "accuracy", "change", "max diff", "check")


def table_rows(results: Sequence[Any]) -> list[tuple[str, ...]]:
    """One row of COLUMNS per ExportResult (or anything with its fields), as text."""
    return [_row(r) for r in results]


def export_table(results: Sequence[Any]) -> str:
    """The rows as aligned plain text, header first."""
    rows = [COLUMNS, *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def _row(r: Any) -> tuple[str, ...]:
    name = r.format + (f" {r.quantize}" if r.quantize else "")
    change = (f"{(r.accuracy - r.reference_accuracy) * 100:+.1f} pt"
              if r.accuracy is not None and r.reference_accuracy is not None else "-")
    return (
        name,
        f"{r.bytes / 1e6:.2f} MB",
        f"{r.latency_ms:.2f} ms" if r.latency_ms is not None else "-",
        f"{r.agreement:.1%}" if r.agreement is not None else "-",
        f"{r.accuracy:.1%}" if r.accuracy is not None else "-",
        change,
        f"{r.max_abs_diff:.1e}" if r.max_abs_diff is not None else "-",
        r.check,
    )
