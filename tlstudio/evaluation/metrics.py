"""Accuracy, per-class precision/recall/F1/support, their averages and the confusion matrix.

The numbers come from scikit-learn; this module only names and packages them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


@dataclass(frozen=True)
class ClassMetrics:
    name: str  # the class name, or "macro avg" / "weighted avg"
    # Of the images predicted as this class, the fraction that are; None when the class has
    # no images and was never predicted (0 when it was: every such prediction is wrong).
    precision: float | None
    recall: float | None  # of the images of this class, the fraction found; None: no images
    f1: float | None  # harmonic mean of precision and recall; None when the class has no images
    support: int  # number of images of this class (all images for the averages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.name,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
        }


@dataclass(frozen=True)
class Evaluation:
    classes: tuple[str, ...]  # class names; labels index this tuple
    accuracy: float  # fraction of images predicted correctly
    per_class: tuple[ClassMetrics, ...]  # one row per class, in class order
    macro: ClassMetrics  # unweighted mean over the classes that have images
    weighted: ClassMetrics  # mean over the classes that have images, weighted by support
    confusion: tuple[tuple[int, ...], ...]  # confusion[true][predicted] = image count

    @property
    def total(self) -> int:
        return sum(map(sum, self.confusion))

    @property
    def absent_classes(self) -> tuple[str, ...]:
        """The classes with no image among those evaluated, in class order."""
        return tuple(row.name for row in self.per_class if row.support == 0)

    def absent_note(self) -> str:
        """One line naming the classes without images ("" when every class has some)."""
        absent = self.absent_classes
        if not absent:
            return ""
        present = len(self.classes) - len(absent)
        return (f"No images of: {', '.join(absent)}. The averages are over the "
                f"{present} class{'es' if present != 1 else ''} with images.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "accuracy": self.accuracy,
            "per_class": [row.to_dict() for row in self.per_class],
            "macro_avg": self.macro.to_dict(),
            "weighted_avg": self.weighted.to_dict(),
            "confusion_matrix": [list(row) for row in self.confusion],
        }


def evaluate_predictions(
    y_true: Sequence[int], y_pred: Sequence[int], classes: Sequence[str]
) -> Evaluation:
    """Metrics for true and predicted class indices. A class with images that is never
    predicted scores precision 0; a class without images has no recall or F1 (None) and
    is left out of the averages."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if not len(y_true):
        raise ValueError("No predictions to evaluate")
    labels = list(range(len(classes)))
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    matrix = confusion_matrix(true, pred, labels=labels)
    per_class = _per_class(true, pred, labels, classes, matrix)
    # Averages over the classes present in the true labels only. scikit-learn's own
    # convention for a label absent from y_true is to warn and count its recall as 0,
    # which drags the macro average down by every class the folder happens not to hold
    # (2 of 10 classes present: 85% accuracy but macro F1 0.18). We follow the "only
    # classes with support" convention instead, so a partial folder is judged on what it has.
    present = sorted(set(true.tolist()))
    averages = {}
    for average in ("macro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(
            true, pred, labels=present, zero_division=0, average=average
        )
        averages[average] = ClassMetrics(
            f"{average} avg", float(ap), float(ar), float(af), len(true)
        )
    return Evaluation(
        classes=tuple(classes),
        accuracy=float(np.mean(true == pred)),
        per_class=per_class,
        macro=averages["macro"],
        weighted=averages["weighted"],
        confusion=tuple(tuple(int(v) for v in row) for row in matrix),
    )


def _per_class(
    true: np.ndarray,
    pred: np.ndarray,
    labels: list[int],
    classes: Sequence[str],
    matrix: np.ndarray,
) -> tuple[ClassMetrics, ...]:
    """One row per class; recall and F1 are None for a class without images, and so is
    precision unless the class was predicted (then it is 0: all those predictions are wrong)."""
    p, r, f, s = precision_recall_fscore_support(
        true, pred, labels=labels, zero_division=0, average=None
    )
    predicted = matrix.sum(axis=0)
    rows = []
    for i, name in enumerate(classes):
        if s[i]:
            rows.append(ClassMetrics(name, float(p[i]), float(r[i]), float(f[i]), int(s[i])))
        else:
            precision = float(p[i]) if predicted[i] else None
            rows.append(ClassMetrics(name, precision, None, None, 0))
    return tuple(rows)
