"""The window's "Compare strategies…" button and menu item, and what the winner's buttons do
in the window: open its run, export it, or train it as an ordinary run."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QPushButton

from tlstudio.gui.compare.compare_dialog import CompareDialog, CompareSource
from tlstudio.gui.shared.accessibility import name_widgets
from tlstudio.gui.sidebar.recipe_form import new_run_dir
from tlstudio.recipe import Recipe

TRAINING = "A training run is in progress: wait for it to end, or stop it."
COMPARING = (
    "A comparison of strategies is running: wait for it to end, or press Cancel in its "
    "dialog (File > Compare strategies…)."
)
TIP = (
    "Which transfer strategy suits these images: linear probes on frozen features, "
    "fine-tuning some or all stages, random weights, on the same folds"
)


class CompareStrategies(QObject):
    """`compareButton` (under Train) and `compareAction` (File menu) open one dialog."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: CompareDialog | None = None
        self.button = QPushButton("Compare strategies…", objectName="compareButton")
        self.button.setToolTip(TIP)
        self.action = QAction("Compare strategies…", window, objectName="compareAction")
        self.action.setToolTip(TIP)
        self.button.clicked.connect(self.open_dialog)
        self.action.triggered.connect(self.open_dialog)

    def open_dialog(self) -> CompareDialog:
        if self.dialog is None:
            self.dialog = dialog = CompareDialog(self._source(), self.window)
            dialog.openRequested.connect(self._open)
            dialog.exportRequested.connect(self._export)
            dialog.trainRequested.connect(self._train)
            name_widgets(dialog)  # screen readers get names, as the window's controls do
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def is_running(self) -> bool:
        return self.dialog is not None and self.dialog.is_running()

    def cancel(self) -> None:
        """The window closes: stop the comparison and join its thread."""
        if self.dialog is not None:
            self.dialog.shutdown()

    def _source(self) -> CompareSource:
        w = self.window
        return CompareSource(
            recipe=lambda out_dir: w.recipe(out_dir=out_dir),
            not_ready=lambda: (
                w.form.not_ready() or (TRAINING if w.controller.is_running() else None)
            ),
            backbone=w.backbone_panel.backbone,
            new_folder=lambda name: new_run_dir(w.settings_panel.runs_dir.text(), name),
        )

    def _open(self, run_dir: str) -> None:
        if self.window.controller.is_running():
            self.dialog.show_message(TRAINING)
            return
        self.window.results_view.open_run(run_dir)  # makes it the current run of every tab

    def _export(self, run_dir: str) -> None:
        self.window.exporter.ask_and_export(self.window, run_dir)

    def _train(self, recipe: Recipe) -> None:
        w = self.window
        problem = (
            TRAINING
            if w.controller.is_running() or self.dialog.is_running()
            else "The LR finder is still running: stop it or wait for its result."
            if w.lr_finder.is_running()
            else None
        )
        if problem:
            self.dialog.show_message(problem)
            return
        w.banner.dismiss()
        # The sidebar shows what trains; its next Train holds images out again.
        w.apply_recipe(recipe.replace(all_data=False))
        w.run_buttons.start(recipe)  # exactly the winner's recipe (random weights included)
