"""Step 2's weights file: the Recipe's `weights` setting as a path field with a "Weights file…"
button, so a backbone whose weights cannot be downloaded here still trains from a local file."""

from __future__ import annotations

import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget

from tlstudio.gui.sidebar.setting_controls import SETTINGS

WEIGHTS_FILTER = "Weights (*.safetensors *.pth *.pt *.bin);;All files (*)"


def weights_tooltip() -> str:
    s = SETTINGS["weights"]
    return f"{s.help[:1].upper()}{s.help[1:]} (default: empty, {s.none_means})"


class WeightsFileEdit(QWidget):
    """A typed path or a chosen file; `changed(path)` when it changes ("" = none), after
    `replaced(path)` with the file it no longer names."""

    changed = Signal(str)
    replaced = Signal(str)  # the path chosen before: an error about that file is gone with it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(objectName="weights", clearButtonEnabled=True)
        self.edit.setPlaceholderText(SETTINGS["weights"].none_means)
        self.edit.setToolTip(weights_tooltip())
        self.button = QPushButton("Weights file…", objectName="weightsFileButton")
        self.button.setToolTip(
            "Choose a local weights file (.safetensors or a state dict) "
            "for this backbone, e.g. downloaded on another computer "
            "(default: none)"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.button)
        self._last = ""
        self.edit.editingFinished.connect(self._typed)
        self.edit.textChanged.connect(self._cleared)
        self.button.clicked.connect(self.browse)

    def browse(self) -> None:
        start = os.path.dirname(self.path()) or os.path.expanduser("~")
        path, _ = QFileDialog.getOpenFileName(self, "Choose a weights file", start, WEIGHTS_FILTER)
        if path:
            self.set_path(path)

    def path(self) -> str:
        return self.edit.text().strip()

    def set_path(self, path: str | None) -> None:
        self.edit.setText(path or "")
        self._typed()

    def _cleared(self, text: str) -> None:
        if not text:  # the clear button: no Enter follows
            self._typed()

    def _typed(self) -> None:
        if self.path() != self._last:
            before, self._last = self._last, self.path()
            if before:
                self.replaced.emit(before)
            self.changed.emit(self._last)
