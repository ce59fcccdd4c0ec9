"""Step 1's optional part for cross-domain transfer: the unlabelled target images, a labelled
target folder and the adaptation method, behind one toggle. Labels and tooltips come from the
Recipe's Settings of `target_dir`, `target_val_dir` and `adapt`."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from tlstudio.gui.sidebar.folder_edit import FolderEdit
from tlstudio.gui.sidebar.setting_controls import (
    SETTINGS,
    changed_signal,
    make_control,
    read_control,
    setting_tooltip,
    write_control,
)
from tlstudio.recipe import Recipe

TOGGLE = "Images from another camera or season? Adapt to them"
PLACEHOLDERS = {
    "target_dir": "Unlabelled images, any folder layout",
    "target_val_dir": "A few per class, same class subfolders",
}


def _tooltip(name: str) -> str:
    return setting_tooltip(name)  # what it does and its default, from the schema


class TargetPanel(QWidget):
    """`targetToggle` opens `targetFolderEdit`, `targetValFolderEdit` and `adapt`."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="targetPanel")
        self.toggle = QToolButton(objectName="targetToggle", text=TOGGLE, checkable=True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolTip(
            "Optional. Cross-domain transfer: the model is trained on your "
            "labelled images and adapted to unlabelled images from where "
            "it will be used"
        )
        self.folders = {
            name: FolderEdit(
                object_name, PLACEHOLDERS[name], f"Choose the {SETTINGS[name].label.lower()}"
            )
            for name, object_name in (
                ("target_dir", "targetFolderEdit"),
                ("target_val_dir", "targetValFolderEdit"),
            )
        }
        self.adapt = make_control("adapt")
        self.content = QWidget(objectName="targetContent")
        form = QFormLayout(self.content)
        form.setContentsMargins(12, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)  # paths get the width
        for name, widget in (*self.folders.items(), ("adapt", self.adapt)):
            getattr(widget, "edit", widget).setToolTip(_tooltip(name))
            form.addRow(QLabel(SETTINGS[name].label, toolTip=_tooltip(name)), widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle, alignment=Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.content)
        self.content.setVisible(False)
        self.toggle.toggled.connect(self._show_content)
        for edit in self.folders.values():
            edit.chosen.connect(self.changed)
        changed_signal(self.adapt).connect(self.changed)

    def _show_content(self, shown: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.content.setVisible(shown)

    def values(self) -> dict[str, Any]:
        """Recipe fields; empty folders are None."""
        return {
            **{name: edit.path() or None for name, edit in self.folders.items()},
            "adapt": read_control(self.adapt, "adapt"),
        }

    def set_values(self, target_dir: str | None, target_val_dir: str | None, adapt: str) -> None:
        for name, path in (("target_dir", target_dir), ("target_val_dir", target_val_dir)):
            self.folders[name].edit.setText(path or "")
            self.folders[name].remember()
        write_control(self.adapt, "adapt", adapt)
        if target_dir or target_val_dir or adapt != "none":
            self.toggle.setChecked(True)  # what the recipe says is in view

    def set_from_recipe(self, recipe: Recipe) -> None:
        self.set_values(recipe.target_dir, recipe.target_val_dir, recipe.adapt)

    def save_settings(self, settings: QSettings) -> None:
        for key, value in self.values().items():
            settings.setValue(f"target/{key}", value or "")

    def restore_settings(self, settings: QSettings) -> None:
        def text(key: str) -> str | None:
            return str(settings.value(f"target/{key}", "") or "") or None

        adapt = text("adapt") or "none"
        self.set_values(
            text("target_dir"),
            text("target_val_dir"),
            adapt if adapt in dict(SETTINGS["adapt"].choices) else "none",
        )
