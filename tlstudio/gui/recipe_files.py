"""File > Open recipe… and Save recipe…: a recipe file read into the steps, or the steps
written as one; a bad file is a message in the window, never a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from tlstudio.errors import TlstudioError
from tlstudio.failures import FrontEnd, describe_failure
from tlstudio.recipe import Recipe
from tlstudio.runs.folder import RECIPE

if TYPE_CHECKING:
    from tlstudio.gui.main_window import MainWindow

RECIPE_FILTER = "Recipe (*.json)"


def save_recipe(window: MainWindow, path: str) -> bool:
    """Write what the steps say to `path`; False (the window says why) if it cannot."""
    try:
        window.recipe(out_dir=window.last_run_dir).save(path)
    except TlstudioError as e:
        window.show_error(describe_failure(e, FrontEnd.WINDOW))
        return False
    window.statusBar().showMessage(f"Recipe saved to {path}", 5000)
    return True


def open_recipe(window: MainWindow, path: str) -> bool:
    """Show the recipe at `path` in the steps; False (the window says why) if it cannot."""
    try:
        recipe = Recipe.load(path)
    except TlstudioError as e:
        window.show_error(describe_failure(e, FrontEnd.WINDOW))
        return False
    window.apply_recipe(recipe)
    return True


def ask_save_recipe(window: MainWindow) -> None:
    path, _ = QFileDialog.getSaveFileName(window, "Save recipe", RECIPE, RECIPE_FILTER)
    if path:
        window.save_recipe(path)


def ask_open_recipe(window: MainWindow) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Open recipe", "", RECIPE_FILTER)
    if path:
        window.open_recipe(path)
