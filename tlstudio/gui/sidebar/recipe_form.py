"""The sidebar's step panels read as one Recipe, set from one, and kept in the user's settings.

The window and File > Open/Save recipe go through here; the engine only ever sees the Recipe.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QCheckBox, QFrame, QGroupBox, QScrollArea, QVBoxLayout, QWidget

from tlstudio.gui.sidebar.advanced_panel import AdvancedPanel
from tlstudio.gui.sidebar.backbone_panel import BackbonePanel
from tlstudio.gui.sidebar.data_panel import DataPanel
from tlstudio.gui.sidebar.freeze_panel import FreezePanel
from tlstudio.gui.sidebar.settings_panel import SettingsPanel
from tlstudio.recipe import Recipe


def new_run_dir(runs_dir: str, backbone: str) -> str:
    """A fresh folder name under `runs_dir`: the time and the backbone, numbered if taken."""
    root = Path(runs_dir.strip() or ".").expanduser()
    base = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{backbone}"
    path, n = base, 2
    while path.exists():
        path, n = Path(f"{base}-{n}"), n + 1
    return str(path)


class RecipeForm:
    """Steps 1-4 and the Advanced section, taken together."""

    def __init__(self, data: DataPanel, backbone: BackbonePanel, freeze: FreezePanel,
                 settings: SettingsPanel, advanced: AdvancedPanel) -> None:
        self.data, self.backbone, self.freeze = data, backbone, freeze
        self.settings, self.advanced = settings, advanced
        # Simple first: data, backbone and Train; the rest behind this box (remembered).
        self.show_all = QCheckBox("Show all settings", objectName="showAllSettings")
        self.show_all.setToolTip("Also show the layers to train, the training settings and "
                                 "the advanced options (default: off; the defaults are a "
                                 "good start)")
        self.expert_parts: list[QWidget] = []
        self.show_all.toggled.connect(self._show_expert_parts)

    def build_steps(self, extra: QWidget) -> tuple[QWidget, QScrollArea]:
        """The numbered step boxes and `extra` below them (`steps`), in a vertical scroll."""
        steps = QWidget(objectName="steps")
        steps_layout = QVBoxLayout(steps)
        for title, panel in (("1  Data", self.data), ("2  Backbone", self.backbone),
                             ("3  Layers to train", self.freeze),
                             ("4  Training settings", self.settings)):
            box = QGroupBox(title)
            box.setAccessibleName(title.split(maxsplit=1)[1])
            box_layout = QVBoxLayout(box)
            box_layout.setContentsMargins(2, 2, 2, 2)
            box_layout.addWidget(panel)
            if panel in (self.freeze, self.settings):
                self.expert_parts.append(box)
            else:
                steps_layout.addWidget(box)
        steps_layout.addWidget(self.show_all)
        for box in self.expert_parts:
            steps_layout.addWidget(box)
        steps_layout.addWidget(extra)
        self.expert_parts.append(extra)
        self._show_expert_parts(self.show_all.isChecked())
        steps_layout.addStretch(1)
        scroll = QScrollArea(objectName="stepsScroll", widgetResizable=True)
        scroll.setWidget(steps)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        return steps, scroll

    def _show_expert_parts(self, shown: bool) -> None:
        for part in self.expert_parts:
            part.setVisible(shown)

    def not_ready(self) -> str | None:
        """Why a run cannot start from these steps yet, in the user's words; None if it can."""
        if self.data.is_scanning():
            return "The training folder is still being scanned; try again in a moment."
        if self.data.data is None:
            return "Choose a training folder first: one subfolder per class."
        return self.weights_problem()

    def weights_problem(self) -> str | None:
        """Why the backbone cannot start from pretrained weights here (none on this computer,
        no file chosen); None when it can, or when the recipe starts from random weights."""
        if self.advanced.values().get("pretrained", True) is False:
            return None
        return self.backbone.missing_weights()

    def recipe(self, out_dir: str | None = None) -> Recipe:
        """What the widgets say, as the engine's Recipe (raises RecipeError if invalid)."""
        backbone = self.backbone.backbone()
        return Recipe(
            data_dir=self.data.train_dir(),
            val_dir=self.data.val_dir(),
            val_split=self.data.val_split(),
            out_dir=out_dir or new_run_dir(self.settings.runs_dir.text(), backbone),
            backbone=backbone,
            weights=self.backbone.weights_path(),
            train_stages=self.freeze.train_stages(),
            **self.data.target.values(),
            **self.settings.values(),
            **self.advanced.values(),
        )

    def apply(self, recipe: Recipe) -> str | None:
        """Show a recipe in the widgets (the freeze spec becomes checked stages); a message
        for the user if part of it cannot be shown here."""
        problem = None
        if not self.backbone.set_backbone(recipe.backbone):
            problem = f"The recipe's backbone '{recipe.backbone}' is not available here"
        self.backbone.weights_file.set_path(recipe.weights)
        self.freeze.set_train_stages(recipe.train_stages)
        self.settings.set_from_recipe(recipe)
        self.advanced.set_from_recipe(recipe)
        self.settings.runs_dir.setText(str(Path(recipe.out_dir).parent))
        self.data.target.set_from_recipe(recipe)
        self.data.set_folders(recipe.data_dir, recipe.val_dir, recipe.val_split)
        return problem

    def show_phase_plan(self) -> None:
        """The freeze panel's line on what trains when (head epochs, discriminative rates)."""
        self.freeze.show_plan(self.advanced.phase_plan(
            self.freeze.stage_names(), epochs=self.settings.epochs.value(),
            lr=self.settings.lr.value(), train_stages=self.freeze.train_stages()))

    def save_settings(self, settings: QSettings) -> None:
        for panel in (self.data, self.backbone, self.settings, self.advanced):
            panel.save_settings(settings)
        settings.setValue("freeze/stages", list(self.freeze.train_stages()))
        settings.setValue("sidebar/show_all_settings", self.show_all.isChecked())

    def restore_settings(self, settings: QSettings) -> None:
        """Everything but the data folders: the window restores (and scans) those last."""
        self.backbone.restore_settings(settings)
        self.settings.restore_settings(settings)
        self.advanced.restore_settings(settings)
        shown = settings.value("sidebar/show_all_settings", False)
        self.show_all.setChecked(shown in (True, "true", "1"))
        stages = settings.value("freeze/stages")
        if stages:
            self.freeze.set_train_stages([stages] if isinstance(stages, str) else stages)
