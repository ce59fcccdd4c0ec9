"""The window's one current run: every tab names it from here, so the tabs always agree."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QBoxLayout, QLabel, QWidget

NO_RUN = "No run yet: train one, or open one with File > Open run…"


def run_name(path: str | None) -> str:
    """How a label names a run folder: its name, or that there is none."""
    return f"Run: {Path(path).name}" if path else NO_RUN


class CurrentRun(QObject):
    """The run folder the tabs show; `changed` carries the new folder ('' for none)."""

    changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path: str | None = None
        self.labels: list[QLabel] = []

    def set(self, path: str | None) -> None:
        path = str(Path(path)) if path else None
        if path == self.path:
            return
        self.path = path
        for label in self.labels:
            self._show(label)
        self.changed.emit(path or "")

    def allows(self, run_dir: str) -> bool:
        """Whether news of `run_dir` is for the user: it is the current run, or none is set."""
        return self.path is None or Path(run_dir) == Path(self.path)

    def add_label(self, tab: QWidget) -> QLabel:
        """Put a `currentRunLabel` at the top of `tab` (its layout must be a box layout)."""
        label = QLabel(objectName="currentRunLabel")
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setAccessibleName("Current run")
        layout = tab.layout()
        assert isinstance(layout, QBoxLayout), tab
        layout.insertWidget(0, label)
        self.labels.append(label)
        self._show(label)
        return label

    def _show(self, label: QLabel) -> None:
        label.setText(run_name(self.path))
        label.setToolTip(self.path or "")
        label.setAccessibleDescription(self.path or NO_RUN)
