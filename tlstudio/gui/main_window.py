"""The studio window: assembles the step panels, the tabs (Data, Training, Results, Gallery,
Try images) and the File actions.

Behaviour lives in the panels and the TrainingController; this module wires them together
and turns the widgets into the one Recipe the engine receives.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tlstudio.errors import TlstudioError
from tlstudio.gui.advanced_panel import AdvancedPanel, AdvancedSection
from tlstudio.gui.backbone_panel import BackbonePanel
from tlstudio.gui.background import wait_for_background_tasks
from tlstudio.gui.banner import Banner
from tlstudio.gui.data_panel import DataPanel, ScannedData
from tlstudio.gui.dataset_view import DatasetView
from tlstudio.gui.evaluation_feed import EvaluationFeed
from tlstudio.gui.export_dialog import Exporter, describe_result
from tlstudio.gui.freeze_panel import FreezePanel
from tlstudio.gui.gallery import PredictionGallery
from tlstudio.gui.lr_finder_view import LRFinderView
from tlstudio.gui.results_view import ResultsView
from tlstudio.gui.resume import ask_resume, resume_recipe
from tlstudio.gui.settings_panel import SettingsPanel
from tlstudio.gui.training_view import TrainingView
from tlstudio.gui.try_images import TryImagesView
from tlstudio.gui.worker import TrainingController
from tlstudio.models.freezing import preview_stages
from tlstudio.recipe import Recipe

DEMO_BACKBONE = "tf_efficientnet_lite0"
def app_settings() -> QSettings:
    """The user's settings, or an ini file under $TLSTUDIO_SETTINGS_DIR (tests, scripts)."""
    folder = os.environ.get("TLSTUDIO_SETTINGS_DIR")
    if folder:
        return QSettings(str(Path(folder) / "tlstudio.ini"), QSettings.Format.IniFormat)
    return QSettings("tlstudio", "tlstudio")


def demo_folder() -> Path:
    return Path.home() / ".cache" / "tlstudio" / "demo"


class MainWindow(QMainWindow):
    """Left: the four steps and the run buttons. Right: the Data and Training tabs."""

    trainingFinished = Signal(str)  # the run folder, when a run ends normally

    def __init__(self, settings: QSettings | None = None, restore: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("tlstudio: transfer learning studio")
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.settings = settings or app_settings()
        self.last_run_dir: str | None = None
        self.controller = TrainingController(self)
        self.exporter = Exporter(self)

        self.data_panel = DataPanel()
        self.backbone_panel = BackbonePanel()
        self.freeze_panel = FreezePanel()
        self.settings_panel = SettingsPanel()
        self.advanced_panel = AdvancedPanel()
        self.lr_finder = LRFinderView(self.recipe, self.settings_panel.lr)
        self.advanced_panel.add_group("Learning-rate finder", self.lr_finder)
        self.advanced_section = AdvancedSection(self.advanced_panel)
        self.dataset_view = DatasetView()
        self.training_view = TrainingView()
        self.results_view = ResultsView()
        self.gallery = PredictionGallery()
        self.try_images = TryImagesView()
        self.evaluations = EvaluationFeed(self)  # the gallery's evaluation, off the GUI thread
        self.banner = Banner()
        self.start_button = QPushButton("Train", objectName="startButton")
        self.pause_button = QPushButton("Pause", objectName="pauseButton")
        self.stop_button = QPushButton("Stop", objectName="stopButton")
        self.tabs = QTabWidget(objectName="mainTabs")

        self._build_layout()
        self._build_actions()
        self._connect()
        self.freeze_panel.set_backbone(self.backbone_panel.backbone())
        self.settings_panel.image_size.setValue(self.backbone_panel.input_size())
        self.statusBar().showMessage("Ready")  # created now so the layout does not jump later
        if restore:
            self.restore_settings()
        self._set_running(False)

    # ---- assembly -----------------------------------------------------------------------

    def _build_layout(self) -> None:
        steps = QWidget(objectName="steps")
        steps_layout = QVBoxLayout(steps)
        for title, panel in (("1  Data", self.data_panel), ("2  Backbone", self.backbone_panel),
                             ("3  Layers to train", self.freeze_panel),
                             ("4  Training settings", self.settings_panel)):
            box = QGroupBox(title)
            box_layout = QVBoxLayout(box)
            box_layout.setContentsMargins(2, 2, 2, 2)
            box_layout.addWidget(panel)
            steps_layout.addWidget(box)
        steps_layout.addWidget(self.advanced_section)
        steps_layout.addStretch(1)
        scroll = QScrollArea(objectName="stepsScroll", widgetResizable=True)
        scroll.setWidget(steps)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.steps = steps

        self.start_button.setDefault(True)
        self.start_button.setMinimumHeight(36)
        self.start_button.setStyleSheet(
            "QPushButton#startButton:enabled { background:#2f6fb0; color:white; "
            "font-weight:bold; border-radius:4px; padding: 0 16px; }")
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 2)
        buttons.addWidget(self.pause_button, 1)
        buttons.addWidget(self.stop_button, 1)
        sidebar = QWidget(objectName="sidebar")
        sidebar_layout = QVBoxLayout(sidebar)
        sidebar_layout.setContentsMargins(0, 0, 0, 0)
        sidebar_layout.addWidget(scroll, 1)
        sidebar_layout.addLayout(buttons)
        sidebar.setMinimumWidth(400)

        self.tabs.addTab(self.dataset_view, "Data")
        self.tabs.addTab(self.training_view, "Training")
        self.tabs.addTab(self.results_view, "Results")
        self.tabs.addTab(self.gallery, "Gallery")
        self.tabs.addTab(self.try_images, "Try images")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self.tabs, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(sidebar)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([420, 860])
        splitter.setContentsMargins(8, 8, 8, 8)
        self.setCentralWidget(splitter)

    def _build_actions(self) -> None:
        def action(text: str, slot, shortcut=None) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(shortcut)
            act.triggered.connect(slot)
            return act

        self.open_action = action("Open recipe…", self.open_recipe_dialog, QKeySequence.Open)
        self.save_action = action("Save recipe as…", self.save_recipe_dialog, QKeySequence.SaveAs)
        self.resume_action = action("Resume run…", self.resume_run_dialog)
        self.export_action = action("Export model…", self.export_dialog)
        self.export_action.setEnabled(False)
        self.open_run_action = action("Open run…", self.results_view.ask_open_run)
        quit_action = action("Quit", self.close, QKeySequence.Quit)
        menu = self.menuBar().addMenu("&File")
        for act in (self.open_action, self.save_action, self.open_run_action,
                    self.resume_action, self.export_action):
            menu.addAction(act)
        menu.addSeparator()
        menu.addAction(quit_action)

    def _connect(self) -> None:
        self.data_panel.scanStarted.connect(self.banner.dismiss)
        self.data_panel.scanned.connect(self._on_scanned)
        self.data_panel.scanned.connect(self.advanced_panel.show_scan)
        self.settings_panel.image_size.valueChanged.connect(
            self.advanced_panel.preview.set_image_size)
        self.data_panel.scanFailed.connect(self._on_scan_failed)
        self.data_panel.cleared.connect(self.dataset_view.show_empty)
        for signal in (self.data_panel.scanStarted, self.data_panel.scanFailed,
                       self.data_panel.cleared):
            signal.connect(self._update_start_button)
        self.dataset_view.empty.chooseFolder.connect(self.data_panel.train_folder.browse)
        self.dataset_view.empty.tryDemo.connect(self.load_demo)
        self.backbone_panel.backboneChanged.connect(self._on_backbone_changed)
        self.backbone_panel.backboneChanged.connect(self.advanced_panel.backbone_changed)
        self.backbone_panel.downloadFailed.connect(self.show_error)
        self.start_button.clicked.connect(self.start_training)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop_training)
        self.training_view.export_button.clicked.connect(self.export_dialog)
        self.exporter.exported.connect(self._on_exported)
        self.exporter.failed.connect(self.show_error)

        for signal in (self.settings_panel.epochs.valueChanged, self.settings_panel.lr.valueChanged,
                       self.freeze_panel.changed, self.advanced_panel.changed):
            signal.connect(self._show_phase_plan)

        c, view = self.controller, self.training_view
        c.fitStarted.connect(view.on_fit_started)
        c.fitStarted.connect(self.advanced_panel.show_fit_started)
        c.fitStarted.connect(self.settings_panel.show_fit_started)
        c.phaseProgress.connect(view.on_phase)
        c.batchProgress.connect(view.on_batch)
        c.epochEnded.connect(view.on_epoch)
        c.log.connect(view.append_log)
        c.failed.connect(self._on_training_failed)
        c.finished.connect(self._on_training_finished)
        c.fitStarted.connect(self.results_view.on_fit_started)
        c.epochEnded.connect(self.results_view.on_epoch)
        c.finished.connect(self.results_view.on_training_finished)
        self.results_view.cellActivated.connect(self.show_gallery_cell)
        self.results_view.runOpened.connect(self._on_run_opened)
        self.evaluations.follow(c)
        c.fitStarted.connect(self.gallery.on_training_started)
        c.finished.connect(self.gallery.on_training_finished)
        self.evaluations.evaluated.connect(self.gallery.set_evaluation)
        self.evaluations.failed.connect(self.show_error)
        self.gallery.datasetChanged.connect(self.data_panel.rescan)
        self.trainingFinished.connect(self.try_images.set_run)

    # ---- messages -----------------------------------------------------------------------

    def show_error(self, message: str) -> None:
        self.banner.show_message(message, "error")
        self.statusBar().showMessage("Error: see the message above the tabs", 8000)

    def show_info(self, message: str) -> None:
        self.banner.show_message(message, "info")

    # ---- data and backbone --------------------------------------------------------------

    def open_folder(self, path: str) -> None:
        """Use `path` as the training folder (dialog, drop, or a script)."""
        self.data_panel.train_folder.set_path(path)
        self.tabs.setCurrentWidget(self.dataset_view)

    def load_demo(self) -> None:
        from tlstudio.data import write_digits_demo

        try:
            root = write_digits_demo(demo_folder())
        except (TlstudioError, OSError) as e:
            self.show_error(f"Cannot write the demo data: {e}")
            return
        self.backbone_panel.set_backbone(DEMO_BACKBONE)
        self.data_panel.set_folders(str(root / "train"), str(root / "val"))
        self.tabs.setCurrentWidget(self.dataset_view)

    def _on_scan_failed(self, message: str) -> None:
        self.show_error(message)
        self.dataset_view.show_empty()

    def _on_scanned(self, data: ScannedData) -> None:
        self._update_start_button()
        self.dataset_view.show_data(data)
        self.freeze_panel.set_num_classes(len(data.train.classes))
        self.statusBar().showMessage(f"{len(data.train):,} images in "
                                     f"{len(data.train.classes)} classes", 5000)

    def _on_backbone_changed(self, name: str) -> None:
        self.freeze_panel.set_backbone(name)
        self.settings_panel.image_size.setValue(self.backbone_panel.input_size())

    # ---- the recipe ---------------------------------------------------------------------

    def recipe(self, out_dir: str | None = None) -> Recipe:
        """What the widgets say, as the engine's Recipe (raises RecipeError if invalid)."""
        backbone = self.backbone_panel.backbone()
        return Recipe(
            data_dir=self.data_panel.train_dir(),
            val_dir=self.data_panel.val_dir(),
            val_split=self.data_panel.val_split(),
            out_dir=out_dir or self._new_run_dir(backbone),
            backbone=backbone,
            train_stages=self.freeze_panel.train_stages(),
            **self.settings_panel.values(),
            **self.advanced_panel.values(),
        )

    def _show_phase_plan(self) -> None:
        self.freeze_panel.show_plan(self.advanced_panel.phase_plan(
            self.freeze_panel.stage_names(), epochs=self.settings_panel.epochs.value(),
            lr=self.settings_panel.lr.value(), train_stages=self.freeze_panel.train_stages()))

    def _new_run_dir(self, backbone: str) -> str:
        root = Path(self.settings_panel.runs_dir.text().strip() or ".").expanduser()
        base = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{backbone}"
        path, n = base, 2
        while path.exists():
            path, n = Path(f"{base}-{n}"), n + 1
        return str(path)

    def apply_recipe(self, recipe: Recipe) -> None:
        """Show a recipe in the widgets (the freeze spec becomes checked stages)."""
        if not self.backbone_panel.set_backbone(recipe.backbone):
            self.show_error(f"The recipe's backbone '{recipe.backbone}' is not available here")
        stages = recipe.train_stages or tuple(
            s.name for s in preview_stages(recipe.backbone, 2, freeze=recipe.freeze)
            if s.trainable)
        self.freeze_panel.set_train_stages(stages)
        self.settings_panel.set_values(recipe.epochs, recipe.batch_size, recipe.lr,
                                       recipe.image_size, recipe.device, recipe.seed,
                                       recipe.threads)
        self.advanced_panel.set_from_recipe(recipe)
        self.settings_panel.runs_dir.setText(str(Path(recipe.out_dir).parent))
        self.data_panel.set_folders(recipe.data_dir, recipe.val_dir, recipe.val_split)

    def save_recipe(self, path: str) -> bool:
        try:
            self.recipe(out_dir=self.last_run_dir).save(path)
        except TlstudioError as e:
            self.show_error(str(e))
            return False
        self.statusBar().showMessage(f"Recipe saved to {path}", 5000)
        return True

    def open_recipe(self, path: str) -> bool:
        try:
            recipe = Recipe.load(path)
        except TlstudioError as e:
            self.show_error(str(e))
            return False
        self.apply_recipe(recipe)
        return True

    def save_recipe_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save recipe", "recipe.json",
                                              "Recipe (*.json)")
        if path:
            self.save_recipe(path)

    def open_recipe_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open recipe", "", "Recipe (*.json)")
        if path:
            self.open_recipe(path)

    # ---- training -----------------------------------------------------------------------

    def start_training(self) -> bool:
        self.banner.dismiss()
        if self.controller.is_running():
            return False
        if self.data_panel.is_scanning():
            self.show_error("The training folder is still being scanned; try again in a moment.")
            return False
        if self.lr_finder.is_running():
            self.show_error("The LR finder is still running: stop it or wait for its result.")
            return False
        if self.data_panel.data is None:
            self.show_error("Choose a training folder first: one subfolder per class.")
            return False
        try:
            recipe = self.recipe()
        except TlstudioError as e:
            self.show_error(str(e))
            return False
        self.training_view.on_starting()
        self.training_view.append_log(f"Run folder: {recipe.out_dir}")
        self.tabs.setCurrentWidget(self.training_view)
        self._set_running(True)
        self.controller.start(recipe)
        return True

    def resume_run(self, run_dir: str, epochs: int | None = None) -> bool:
        """Continue a run from its checkpoint (to `epochs` in total, if given)."""
        self.banner.dismiss()
        if self.controller.is_running():
            return False
        try:
            recipe = resume_recipe(run_dir, epochs)
        except TlstudioError as e:
            self.show_error(str(e))
            return False
        self.training_view.on_starting()
        self.training_view.append_log(f"Resuming {run_dir} to {recipe.epochs} epoch(s)")
        self.tabs.setCurrentWidget(self.training_view)
        self._set_running(True)
        self.controller.start(recipe, resume=True)
        return True

    def resume_run_dialog(self) -> None:
        try:
            chosen = ask_resume(self, self.settings_panel.runs_dir.text())
        except TlstudioError as e:
            self.show_error(str(e))
            return
        if chosen is not None:
            self.resume_run(*chosen)

    def toggle_pause(self) -> None:
        if self.pause_button.text() == "Pause":
            self.controller.pause()
            self.pause_button.setText("Resume")
            self.training_view.append_log("Paused")
        else:
            self.controller.resume()
            self.pause_button.setText("Pause")
            self.training_view.append_log("Resumed")

    def stop_training(self) -> None:
        self.stop_button.setEnabled(False)
        self.training_view.append_log("Stopping after the current batch…")
        self.controller.stop()

    def _update_start_button(self) -> None:
        ready = self.data_panel.data is not None and not self.controller.is_running()
        self.start_button.setEnabled(ready)
        self.start_button.setToolTip("" if ready else "Choose a training folder first (step 1)")

    def _set_running(self, running: bool) -> None:
        self.steps.setEnabled(not running)
        self.start_button.setEnabled(not running and self.data_panel.data is not None)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Pause")
        self.stop_button.setEnabled(running)
        self.open_action.setEnabled(not running)
        self.open_run_action.setEnabled(not running)
        self.resume_action.setEnabled(not running)

    def _on_training_failed(self, message: str) -> None:
        self.show_error(message)
        self.training_view.append_log(message, "error")
        self.training_view.on_finished("Failed")

    def _on_training_finished(self, result: object) -> None:
        self._set_running(False)
        if result is None:
            return
        has_model = (Path(result.run_dir) / "model.safetensors").is_file()
        if has_model:
            self.last_run_dir = result.run_dir
        self.export_action.setEnabled(self.last_run_dir is not None)
        self.training_view.export_button.setEnabled(self.last_run_dir is not None)
        if result.stopped:
            self.training_view.on_finished("Stopped")
            self.training_view.append_log(f"Stopped after {len(result.epochs)} epoch(s)",
                                          "warning")
            return
        self.training_view.on_finished("Finished")
        self.training_view.append_log(f"Finished: the model is in {result.run_dir}")
        self.statusBar().showMessage(f"Run saved in {result.run_dir}", 10000)
        self.trainingFinished.emit(result.run_dir)

    # ---- export -------------------------------------------------------------------------

    def export_model(self, path: str, fmt: str | None = None) -> bool:
        """Export the last run to `path` (format from its suffix) without a dialog."""
        if self.last_run_dir is None:
            self.show_error("Train a model first: there is no finished run to export.")
            return False
        self.training_view.append_log(f"Exporting to {path}…")
        return self.exporter.export(self.last_run_dir, path, fmt)

    def export_dialog(self) -> None:
        if self.last_run_dir is None:
            self.show_error("Train a model first: there is no finished run to export.")
            return
        self.exporter.ask_and_export(self, self.last_run_dir)

    def _on_exported(self, result: object) -> None:
        text = describe_result(result)
        self.training_view.append_log(text)
        self.show_info(text)

    # ---- results --------------------------------------------------------------------------

    def show_gallery_cell(self, true: str, predicted: str) -> None:
        """A confusion-matrix cell was clicked: show its images in the Gallery tab."""
        self.tabs.setCurrentWidget(self.gallery)
        self.gallery.show_cell(true, predicted)

    def _on_run_opened(self, run_dir: str) -> None:
        self.tabs.setCurrentWidget(self.results_view)
        self.evaluations.load(run_dir)  # the gallery shows the opened run's last epoch
        if (Path(run_dir) / "model.safetensors").is_file():
            self.last_run_dir = run_dir
            self.export_action.setEnabled(True)
            self.training_view.export_button.setEnabled(True)
            self.try_images.set_run(run_dir)

    # ---- drag and drop ------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if _dropped_folder(event) is not None and not self.controller.is_running():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        folder = _dropped_folder(event)
        if folder is not None:
            self.open_folder(folder)
            event.acceptProposedAction()

    # ---- settings and closing -----------------------------------------------------------

    def save_settings(self) -> None:
        for panel in (self.data_panel, self.backbone_panel, self.settings_panel,
                      self.advanced_panel):
            panel.save_settings(self.settings)
        self.settings.setValue("freeze/stages", list(self.freeze_panel.train_stages()))
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()

    def restore_settings(self) -> None:
        s = self.settings
        self.backbone_panel.restore_settings(s)
        self.settings_panel.restore_settings(s)
        self.advanced_panel.restore_settings(s)
        stages = s.value("freeze/stages")
        if stages:
            self.freeze_panel.set_train_stages([stages] if isinstance(stages, str) else stages)
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.data_panel.restore_settings(s)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.save_settings()
        self.controller.shutdown()
        for part in (self.data_panel, self.dataset_view, self.backbone_panel, self.exporter,
                     self.results_view, self.evaluations, self.gallery, self.try_images,
                     self.advanced_panel, self.lr_finder):
            part.cancel()
        wait_for_background_tasks()
        super().closeEvent(event)


def _dropped_folder(event: QDragEnterEvent | QDropEvent) -> str | None:
    mime = event.mimeData()
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile() and os.path.isdir(url.toLocalFile()):
            return url.toLocalFile()
    return None
