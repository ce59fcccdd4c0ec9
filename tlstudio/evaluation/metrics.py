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
    precision: float  # of the images predicted as this class, the fraction that are
    recall: float  # of the images of this class, the fraction found
    f1: float  # harmonic mean of precision and recall
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
    macro: ClassMetrics  # unweighted mean over classes
    weighted: ClassMetrics  # mean over classes weighted by support
    confusion: tuple[tuple[int, ...], ...]  # confusion[true][predicted] = image count

    @property
    def total(self) -> int:
        return sum(map(sum, self.confusion))

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
    """Metrics for true and predicted class indices; a class never predicted scores 0."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if not len(y_true):
        raise ValueError("No predictions to evaluate")
    labels = list(range(len(classes)))
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    p, r, f, s = precision_recall_fscore_support(
        true, pred, labels=labels, zero_division=0, average=None
    )
    per_class = tuple(
        ClassMetrics(name, float(p[i]), float(r[i]), float(f[i]), int(s[i]))
        for i, name in enumerate(classes)
    )
    averages = {}
    for average in ("macro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(
            true, pred, labels=labels, zero_division=0, average=average
        )
        averages[average] = ClassMetrics(
            f"{average} avg", float(ap), float(ar), float(af), len(true)
        )
    matrix = confusion_matrix(true, pred, labels=labels)
    return Evaluation(
        classes=tuple(classes),
        accuracy=float(np.mean(true == pred)),
        per_class=per_class,
        macro=averages["macro"],
        weighted=averages["weighted"],
        confusion=tuple(tuple(int(v) for v in row) for row in matrix),
    )
