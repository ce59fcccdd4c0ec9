"""A folder field: a typed path with a Browse button (the data step's folders, the target
images)."""

from __future__ import annotations

import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QToolButton, QWidget


class FolderEdit(QWidget):
    """A typed path with a Browse button; `chosen` fires on Enter, focus-out or the dialog."""

    chosen = Signal(str)

    def __init__(
        self, object_name: str, placeholder: str, title: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._title = title
        self.edit = QLineEdit(objectName=object_name, placeholderText=placeholder)
        self.edit.setClearButtonEnabled(True)
        browse = QToolButton(text="Browse…")
        browse.setToolTip(title)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)
        self.edit.editingFinished.connect(self._typed)
        browse.clicked.connect(self.browse)
        self._last = ""

    def browse(self) -> None:
        start = self.edit.text() or os.path.expanduser("~")
        path = QFileDialog.getExistingDirectory(self, self._title, start)
        if path:
            self.set_path(path)

    def set_path(self, path: str) -> None:
        self.edit.setText(path)
        self._typed()

    def path(self) -> str:
        return self.edit.text().strip()

    def _typed(self) -> None:
        if self.path() != self._last:
            self._last = self.path()
            self.chosen.emit(self._last)

    def remember(self) -> None:
        """The text shown is the chosen folder (set without `chosen`, e.g. from a recipe)."""
        self._last = self.path()
