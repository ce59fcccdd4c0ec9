"""Accessible names and descriptions for the window's controls, plots, matrix and lists:
the ones a widget was not given are taken from what a sighted user reads next to it."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget

# The views a screen reader cannot read from their pixels: what each one is.
VIEWS = {
    "classCountChart": ("Images per class", "Bars of training and validation images per class"),
    "confusionMatrixView": ("Confusion matrix", "Rows: true class, columns: predicted class; "
                            "arrow keys move between cells, Enter opens a cell in the Gallery"),
    "metricsTable": ("Metrics per class", "Precision, recall, F1 and support of each class"),
    "galleryList": ("Validation images", "Thumbnails with their predicted class; number keys "
                    "move the selected image to a class"),
    "lrFinderPlot": ("Learning-rate finder plot", "Loss against learning rate"),
    "logPane": ("Training log", "Messages of the run, newest last"),
    "progressBar": ("Training progress", ""),
    "messageBanner": ("Message", "Errors and notices about the last action"),
}


def buddy_texts(root: QWidget) -> dict[int, str]:
    """The text of each label, by the id of the widget it labels."""
    return {id(label.buddy()): label.text().replace("&", "")
            for label in root.findChildren(QLabel) if label.buddy() is not None}


def own_label(widget: QWidget, labels: dict[int, str]) -> str:
    """The label of the widget, or of the field it is part of (a path edit with its Browse)."""
    parent, depth = widget, 0
    while parent is not None and depth < 3:
        if id(parent) in labels:
            return labels[id(parent)]
        parent, depth = parent.parentWidget(), depth + 1
    return ""


def words(object_name: str) -> str:
    """'trainFolderEdit' -> 'train folder edit'; Qt's own inner widgets ('qt_...') get none."""
    if not object_name or object_name.startswith("qt_"):
        return ""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", object_name).replace("_", " ").lower()


def name_widgets(root: QWidget) -> None:
    """Give every widget under `root` without an accessible name one: the views' from VIEWS,
    a control's from its label, its text or its tooltip."""
    labels = buddy_texts(root)
    for widget in root.findChildren(QWidget):
        known = VIEWS.get(widget.objectName())
        if known is not None:
            widget.setAccessibleName(widget.accessibleName() or known[0])
            widget.setAccessibleDescription(widget.accessibleDescription() or known[1])
            continue
        if widget.accessibleName() or isinstance(widget, QLabel):
            continue
        text = own_label(widget, labels) or (
            widget.text() if isinstance(widget, QAbstractButton) else "") or widget.toolTip() \
            or getattr(widget, "placeholderText", lambda: "")() or words(widget.objectName())
        if text:
            widget.setAccessibleName(text)
        if widget.toolTip() and not widget.accessibleDescription():
            widget.setAccessibleDescription(widget.toolTip())
