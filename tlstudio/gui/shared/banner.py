"""The message banner above the tabs: errors and notices that never block the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from tlstudio.filenames import escape_undecodable
from tlstudio.gui.shared.palette_colours import message_colours


class Banner(QFrame):
    """A non-modal message above the tabs: errors stay until dismissed or the next action."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="messageBanner")
        self.label = QLabel(objectName="messageLabel", wordWrap=True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(text="✕", autoRaise=True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.kind = ""
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.kind = kind
        self.setStyleSheet(f"#messageBanner {{{message_colours(kind).style()} border-radius:4px;}}"
                           "#messageBanner QLabel { border: none; background: transparent; }")
        self.label.setText(escape_undecodable(text))  # Qt would drop a name's non-UTF-8 bytes
        self.show()

    def dismiss(self) -> None:
        self.kind = ""
        self.label.clear()
        self.hide()

    def dismiss_naming(self, name: str) -> None:
        """Dismiss the error if it names `name` (a file the user has just replaced)."""
        if self.kind == "error" and name and escape_undecodable(name) in self.label.text():
            self.dismiss()


def announce(label: QLabel) -> None:
    """Tell a screen reader that `label` has a new message (errors are read out)."""
    label.setAccessibleName(label.text())
    if QAccessible.isActive():
        QAccessible.updateAccessibility(QAccessibleEvent(label, QAccessible.Event.Alert))
