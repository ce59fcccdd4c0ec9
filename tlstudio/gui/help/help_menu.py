"""The Help menu: a getting-started page, the keyboard shortcuts and About (versions, licence).

The pages are small non-modal dialogs, so reading them never blocks the window.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QLabel, QMainWindow, QMenu, QVBoxLayout, QWidget

import tlstudio

GETTING_STARTED = """<h3>Getting started</h3>
<ol>
<li><b>Data</b>: choose a folder with one sub-folder per class (File &gt; Open folder…, Ctrl+O),
or try the demo digits. The Data tab shows how many images each class has for training and for
validation, and which files were skipped and why.</li>
<li><b>Backbone</b>: the pretrained network that turns images into features. The recommended
one is small and fast; a bigger one may be more accurate but trains slower.</li>
<li><b>Train</b> (Ctrl+Enter). The Training tab shows the loss and accuracy per epoch; Stop
(Esc) keeps the best epoch so far.</li>
<li><b>Look at the result</b>: the Results tab's confusion matrix shows which classes are
mixed up; click a cell to see its images in the Gallery and move wrongly labelled ones.</li>
<li><b>Try images</b> of your own, then <b>Export</b> the model (ONNX, TorchScript,
safetensors) to use it elsewhere.</li>
</ol>
<p>Everything else (freezing, schedules, augmentation, the learning-rate finder) sits behind
<i>Show all settings</i>; the defaults are a good start.</p>"""


@dataclass(frozen=True)
class Shortcut:
    """One keyboard shortcut as the Help page lists it."""

    keys: str  # as the user types it
    action: str  # what it does


SHORTCUTS = (
    Shortcut("Ctrl+O", "Open a training folder"),
    Shortcut("Ctrl+Enter", "Train"),
    Shortcut("Esc", "Stop the run (the best epoch so far is kept)"),
    Shortcut("Ctrl+S", "Save the recipe"),
    Shortcut("1 to 9", "Gallery: move the selected image to that class"),
    Shortcut("Ctrl+Z", "Gallery: undo the last move"),
    Shortcut("Ctrl+Q", "Quit"),
)


def versions() -> dict[str, str]:
    """What About shows: tlstudio's and its main libraries' versions."""
    found = {"tlstudio": tlstudio.__version__, "Python": platform.python_version()}
    for name in ("torch", "timm", "PySide6", "pyqtgraph"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def licence_name() -> str:
    try:
        return metadata.metadata("tlstudio").get("License-Expression") or "MIT"
    except metadata.PackageNotFoundError:
        return "MIT"  # a source checkout without an install: pyproject.toml says MIT


def about_html() -> str:
    rows = "".join(f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in versions().items())
    return (f"<h3>tlstudio {tlstudio.__version__}</h3><p>Transfer learning on image folders, "
            f"from a window or the command line.</p><table>{rows}</table>"
            f"<p>Licence: {licence_name()} (see the LICENSE file).</p>")


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{s.keys}</b></td><td>&nbsp;{s.action}</td></tr>"
                   for s in SHORTCUTS)
    return f"<h3>Keyboard shortcuts</h3><table>{rows}</table>"


class HelpPage(QDialog):
    """A page of rich text with a title; closes with Esc."""

    def __init__(self, name: str, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName=name)
        self.setWindowTitle(title)
        self.text = QLabel(text, objectName=f"{name}Text", wordWrap=True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAccessibleName(title)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        self.setMinimumWidth(460)


class HelpMenu(QMenu):
    """Help > Getting started, Keyboard shortcuts, About tlstudio."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__("&Help", window, objectName="helpMenu")
        self.pages: dict[str, HelpPage] = {}
        self.getting_started = self._page_action("Getting started", "gettingStarted",
                                                 GETTING_STARTED)
        self.getting_started.setShortcut("F1")
        self.shortcuts = self._page_action("Keyboard shortcuts", "shortcutsPage",
                                           shortcuts_html())
        self.about = self._page_action("About tlstudio", "aboutPage", about_html())

    def _page_action(self, title: str, name: str, text: str) -> QAction:
        act = QAction(title, self, objectName=f"{name}Action")
        act.triggered.connect(lambda: self.show_page(name, title, text))
        self.addAction(act)
        return act

    def show_page(self, name: str, title: str, text: str) -> HelpPage:
        page = self.pages.get(name)
        if page is None:
            page = self.pages[name] = HelpPage(name, title, text, self.parentWidget())
        page.show()
        page.raise_()
        return page
