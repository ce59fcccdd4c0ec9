"""Parts of the main window's behaviour that need no state of their own: the File > Runs
menu (filled from the Runs tab's list), the Tab order through the steps, and keeping a
restored window on its screen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from tlstudio.gui.runs.runs_table import menu_text

MENU_RUNS = 30  # File > Runs lists this many; the Runs tab lists them all


def fill_runs_menu(window: QWidget) -> None:
    """File > Runs: the Runs tab's list (the core's listing), newest first; choosing one makes
    it current."""
    window.runs_menu.clear()
    entries = window.runs_view.model.runs[:MENU_RUNS]
    for entry in entries:
        path = str(entry.path)
        act = window.runs_menu.addAction(menu_text(entry))
        act.setCheckable(True)
        act.setChecked(path == window.current.path)
        act.setToolTip(path)
        act.setEnabled(not window.controller.is_running())
        act.triggered.connect(lambda _=False, p=path: window.results_view.open_run(p))
    if not entries:
        window.runs_menu.addAction("No runs in the runs folder yet").setEnabled(False)


def tab_order_follows_steps(steps: QWidget, after: list[QWidget]) -> None:
    """Tab goes through the steps, then `after` (Train, Pause, Stop, the tabs); Train came
    after the whole window before."""
    last, widget = steps, steps.nextInFocusChain()
    while widget is not steps:
        if steps.isAncestorOf(widget) and widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            last = widget
        widget = widget.nextInFocusChain()
    chain = [last, *after]
    for first, second in zip(chain, chain[1:], strict=False):
        QWidget.setTabOrder(first, second)


def keep_on_screen(window: QWidget) -> None:
    """Fit the window into its screen's free area (a geometry saved at another scale or on
    another monitor ran off the screen)."""
    screen = window.screen().availableGeometry() if window.screen() else None
    if screen is None or screen.isEmpty():
        return
    frame = window.frameGeometry()
    width, height = min(window.width(), screen.width()), min(window.height(), screen.height())
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
    x = min(max(frame.x(), screen.x()), screen.right() - min(frame.width(), screen.width()))
    y = min(max(frame.y(), screen.y()), screen.bottom() - min(frame.height(),
                                                               screen.height()))
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)
