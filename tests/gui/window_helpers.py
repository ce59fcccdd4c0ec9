"""What the window tests share: making a window, typing or dropping folders, finding a control.
Shared fixtures (settings_dir, digits) are in tests/gui/conftest.py."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent

from tlstudio.gui import MainWindow

SCAN_TIMEOUT = 30_000


def make_window(qtbot, runs: Path) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.settings_panel.runs_dir.setText(str(runs))
    return window


def make_tiny_window(qtbot, runs: Path) -> MainWindow:
    """A window on the tiny_cnn backbone with small images and batches: seconds per run."""
    window = make_window(qtbot, runs)
    window.backbone_panel.set_backbone("tiny_cnn")
    window.settings_panel.image_size.setValue(16)
    window.settings_panel.batch_size.setValue(8)
    return window


def type_folder(qtbot, window: MainWindow, object_name: str, path: Path) -> None:
    edit = window.findChild(type(window.data_panel.train_folder.edit), object_name)
    edit.setFocus()
    edit.clear()
    qtbot.keyClicks(edit, str(path))
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def choose_data(qtbot, window: MainWindow, digits: Path) -> None:
    with qtbot.waitSignal(window.data_panel.scanned, timeout=SCAN_TIMEOUT):
        type_folder(qtbot, window, "trainFolderEdit", digits / "train")


def scan(qtbot, window: MainWindow, folder: Path, timeout: int = 60_000) -> None:
    with qtbot.waitSignal(window.data_panel.scanned, timeout=timeout):
        window.open_folder(str(folder))


def child(window: MainWindow, kind: type, name: str):
    widget = window.findChild(kind, name)
    assert widget is not None, name
    return widget


def drop_on(window: MainWindow, paths: list[Path]):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert event.isAccepted()


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours."""

    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return (0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF())
                + 0.0722 * channel(c.blueF()))

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def click_check_box(qtbot, box) -> None:
    """Click a check box where a user does, on its box (a wide one ignores its empty right)."""
    from PySide6.QtCore import QPoint

    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
