"""What the window does with its own events: a drop (image files to Try images, a folder as
the training data), and closing (ask while training, keep the settings, end background work)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent

from tlstudio.gui.shared.background import wait_for_background_tasks
from tlstudio.gui.training.close_guard import ask_stop_and_quit
from tlstudio.gui.try_images.try_images import dropped_paths, window_drop

if TYPE_CHECKING:
    from tlstudio.gui.main_window import MainWindow


def drop_target(
    window: MainWindow, event: QDragEnterEvent | QDropEvent
) -> tuple[str, list[str]] | None:
    """("data", [folder]) or ("images", paths) for what is dragged, or None to refuse it."""
    return window_drop(
        dropped_paths(event),
        window.tabs.currentWidget() is window.try_images,
        folder_is_data=not window.controller.is_running(),
    )


def accept_drop(window: MainWindow, event: QDropEvent) -> None:
    target = drop_target(window, event)
    if target is None:
        return
    kind, paths = target
    if kind == "data":
        window.open_folder(paths[0])
    else:
        window.tabs.setCurrentWidget(window.try_images)
        window.try_images.add_paths(paths)
    event.acceptProposedAction()


def may_close(window: MainWindow, event: QCloseEvent) -> bool:
    """Ask before closing during training; once closing, save the settings and end every
    worker and background job. False (the event ignored) when the user keeps training."""
    if window.controller.is_running() and not ask_stop_and_quit(window):
        event.ignore()
        return False
    window.save_settings()
    window.controller.shutdown()
    for part in (
        window.data_panel,
        window.dataset_view,
        window.backbone_panel,
        window.exporter,
        window.results_view,
        window.evaluations,
        window.gallery,
        window.try_images,
        window.advanced_panel,
        window.lr_finder,
        window.compare,
        window.shift_view,
        window.runs_view,
    ):
        part.cancel()
    wait_for_background_tasks()
    return True
