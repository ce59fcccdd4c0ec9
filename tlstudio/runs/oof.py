"""Out-of-fold predictions of a cross-validated run (oof_predictions.csv): every image scored by
the fold model that did not train on it, written atomically; `runs.folder` names the file."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass

from tlstudio import atomic
from tlstudio.runs.folder import RunFolder

COLUMNS = ("path", "label", "predicted", "probability")  # then one per class, then "fold"
FOLD = "fold"


@dataclass(frozen=True)
class OutOfFold:
    path: str  # absolute image path
    label: str  # its class
    fold: int  # the fold whose model scored it (the fold that held it out)
    probabilities: tuple[float, ...]  # one per class, in the run's class order


def write_oof_predictions(run_dir: str | os.PathLike[str], rows: list[OutOfFold],
                          classes: tuple[str, ...]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*COLUMNS, *classes, FOLD])
    for row in rows:
        best = max(range(len(classes)), key=row.probabilities.__getitem__)
        writer.writerow([row.path, row.label, classes[best], f"{row.probabilities[best]:.6f}",
                         *(f"{p:.6f}" for p in row.probabilities), row.fold])
    atomic.write_text(RunFolder.at(run_dir).oof_predictions, buffer.getvalue())


def read_oof_predictions(run_dir: str | os.PathLike[str]
                         ) -> tuple[list[OutOfFold], tuple[str, ...]]:
    """The rows and the class names, as written."""
    with open(RunFolder.at(run_dir).oof_predictions, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        classes = tuple(header[len(COLUMNS):-1])
        rows = [OutOfFold(r[0], r[1], int(r[-1]), tuple(float(p) for p in r[len(COLUMNS):-1]))
                for r in reader]
    return rows, classes
