"""The studio window: assembles the step panels, the tabs (Data, Training, Results, Gallery,
Try images, Runs) and the File actions.

Behaviour lives in the panels, RecipeForm (the steps as one Recipe) and RunButtons (a run's
life through the TrainingController); this module assembles them and wires their signals.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QMainWindow,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tlstudio.errors import TlstudioError
from tlstudio.failures import FrontEnd, describe_failure
from tlstudio.gui import recipe_files
from tlstudio.gui.compare.compare_action import COMPARING, CompareStrategies
from tlstudio.gui.dataset.dataset_view import DatasetView
from tlstudio.gui.domain.shift_view import ShiftView
from tlstudio.gui.export.export_dialog import Exporter, describe_result
from tlstudio.gui.gallery.gallery import PredictionGallery
from tlstudio.gui.results.evaluation_feed import EvaluationFeed
from tlstudio.gui.results.results_view import ResultsView
from tlstudio.gui.runs.runs_view import RunsView
from tlstudio.gui.shared.accessibility import name_widgets
from tlstudio.gui.shared.app_icon import app_icon
from tlstudio.gui.shared.app_settings import app_settings
from tlstudio.gui.shared.banner import Banner, announce
from tlstudio.gui.shared.current_run import CurrentRun
from tlstudio.gui.sidebar.advanced_panel import AdvancedPanel, AdvancedSection
from tlstudio.gui.sidebar.backbone_panel import BackbonePanel
from tlstudio.gui.sidebar.data_panel import DataPanel, ScannedData
from tlstudio.gui.sidebar.freeze_panel import FreezePanel
from tlstudio.gui.sidebar.lr_finder_view import LRFinderView
from tlstudio.gui.sidebar.recipe_form import RecipeForm
from tlstudio.gui.sidebar.settings_panel import SettingsPanel
from tlstudio.gui.training.result_card import summarize
from tlstudio.gui.training.run_buttons import RunButtons
from tlstudio.gui.training.training_view import EXPORT_WAITS, TrainingView
from tlstudio.gui.training.worker import TrainingController
from tlstudio.gui.try_images.try_images import TryImagesView
from tlstudio.gui.window_events import accept_drop, drop_target, may_close
from tlstudio.gui.window_parts import keep_on_screen, tab_order_follows_steps
from tlstudio.gui.window_wiring import build_menus, connect_parts
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder

DEMO_BACKBONE = "tf_efficientnet_lite0"


class MainWindow(QMainWindow):
    """Left: the four steps and the run buttons. Right: the Data and Training tabs."""

    trainingFinished = Signal(str)  # the run folder, when a run ends normally

    def __init__(self, settings: QSettings | None = None, restore: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("tlstudio: transfer learning studio")
        self.setWindowIcon(app_icon())
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.settings = settings or app_settings()
        self.last_run_dir: str | None = None
        self._run_started_at = time.monotonic()
        self.controller = TrainingController(self)
        self.exporter = Exporter(self)
        self.current = CurrentRun(self)  # the run every tab names

        self.data_panel = DataPanel()
        self.backbone_panel = BackbonePanel()
        self.freeze_panel = FreezePanel()
        self.settings_panel = SettingsPanel()
        self.advanced_panel = AdvancedPanel()
        self.lr_finder = LRFinderView(self.recipe, self.settings_panel.lr)
        self.advanced_panel.add_group("Learning-rate finder", self.lr_finder)
        self.advanced_section = AdvancedSection(self.advanced_panel)
        self.form = RecipeForm(self.data_panel, self.backbone_panel, self.freeze_panel,
                               self.settings_panel, self.advanced_panel)
        self.dataset_view = DatasetView()
        self.training_view = TrainingView()
        self.results_view = ResultsView()
        self.gallery = PredictionGallery()
        self.try_images = TryImagesView()
        self.shift_view = ShiftView()  # the Domain shift tab
        self.runs_view = RunsView()  # the runs folder's runs: open, compare, combine
        self.evaluations = EvaluationFeed(self)  # the gallery's evaluation, off the GUI thread
        self.banner = Banner()
        self.run_buttons = RunButtons(self.controller, self.training_view)
        self.start_button = self.run_buttons.start_button
        self.pause_button = self.run_buttons.pause_button
        self.stop_button = self.run_buttons.stop_button
        self.compare = CompareStrategies(self)  # Compare strategies…: its dialog and winner
        self.tabs = QTabWidget(objectName="mainTabs")

        self._build_layout()
        tab_order_follows_steps(self.steps, [self.start_button, self.pause_button,
                                             self.stop_button, self.tabs])
        build_menus(self)
        connect_parts(self)
        self.freeze_panel.set_backbone(self.backbone_panel.backbone())
        self.settings_panel.image_size.setValue(self.backbone_panel.input_size())
        self.statusBar().showMessage("Ready")  # created now so the layout does not jump later
        if restore:
            self.restore_settings()
        keep_on_screen(self)
        name_widgets(self)  # after every panel is built: screen readers get names

    # ---- assembly -----------------------------------------------------------------------

    def _build_layout(self) -> None:
        self.steps, scroll = self.form.build_steps(self.advanced_section)
        sidebar = QWidget(objectName="sidebar")
        sidebar_layout = QVBoxLayout(sidebar)
        sidebar_layout.setContentsMargins(0, 0, 0, 0)
        sidebar_layout.addWidget(scroll, 1)
        sidebar_layout.addWidget(self.run_buttons)
        sidebar_layout.addWidget(self.compare.button)
        sidebar.setMinimumWidth(400)

        self.tabs.addTab(self.dataset_view, "Data")
        self.tabs.addTab(self.training_view, "Training")
        self.tabs.addTab(self.results_view, "Results")
        self.tabs.addTab(self.gallery, "Gallery")
        self.tabs.addTab(self.try_images, "Try images")
        self.tabs.addTab(self.shift_view, "Domain shift")
        self.tabs.addTab(self.runs_view, "Runs")
        for tab in (self.training_view, self.results_view, self.gallery, self.try_images,
                    self.shift_view, self.runs_view):
            self.current.add_label(tab)
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

    # ---- messages -----------------------------------------------------------------------

    def show_error(self, message: str) -> None:
        self.banner.show_message(message, "error")
        announce(self.banner.label)
        self.statusBar().showMessage("Error: see the message above the tabs", 8000)

    def show_info(self, message: str) -> None:
        self.banner.show_message(message, "info")

    # ---- data and backbone --------------------------------------------------------------

    def open_folder(self, path: str) -> None:
        """Use `path` as the training folder (dialog, drop, or a script)."""
        self.data_panel.train_folder.set_path(path)
        self.tabs.setCurrentWidget(self.dataset_view)

    def load_demo(self) -> bool:
        """Choose the demo digits and backbone; False (the banner says why) if they cannot."""
        from tlstudio.data import demo_data_dir, write_digits_demo

        try:
            root = write_digits_demo(demo_data_dir())  # the same digits as `tlstudio demo`
        except (TlstudioError, OSError) as e:
            self.show_error(f"Cannot write the demo data: {e}")
            return False
        self.backbone_panel.set_backbone(DEMO_BACKBONE)
        self.data_panel.set_folders(str(root / "train"), str(root / "val"))
        self.tabs.setCurrentWidget(self.dataset_view)
        return True

    def _on_scan_failed(self, message: str) -> None:
        self.show_error(message)
        self.dataset_view.show_empty()

    def _on_scanned(self, data: ScannedData) -> None:
        self._update_start_button()
        self.dataset_view.show_data(data, self.data_panel.val_split(),
                                    self.settings_panel.image_size.value())
        self.freeze_panel.set_num_classes(len(data.train.classes))
        self.statusBar().showMessage(f"{len(data.train):,} images in "
                                     f"{len(data.train.classes)} classes", 5000)

    def _on_backbone_changed(self, name: str) -> None:
        self.freeze_panel.set_backbone(name)
        self.settings_panel.image_size.setValue(self.backbone_panel.input_size())

    # ---- the recipe ---------------------------------------------------------------------

    def recipe(self, out_dir: str | None = None) -> Recipe:
        """What the widgets say, as the engine's Recipe (raises RecipeError if invalid)."""
        return self.form.recipe(out_dir)

    def apply_recipe(self, recipe: Recipe) -> None:
        """Show a recipe in the widgets (the freeze spec becomes checked stages)."""
        problem = self.form.apply(recipe)
        if problem:
            self.show_error(problem)

    def save_recipe(self, path: str) -> bool:
        return recipe_files.save_recipe(self, path)

    def open_recipe(self, path: str) -> bool:
        return recipe_files.open_recipe(self, path)

    def save_recipe_dialog(self) -> None:
        recipe_files.ask_save_recipe(self)

    def open_recipe_dialog(self) -> None:
        recipe_files.ask_open_recipe(self)

    # ---- training: RunButtons runs it; the window checks the widgets and follows along -----

    def start_training(self) -> bool:
        """Train what the widgets say; False (with a message where useful) if it cannot."""
        self.banner.dismiss()
        if self.controller.is_running():
            return False
        problem = self.form.not_ready() or (
            "The LR finder is still running: stop it or wait for its result."
            if self.lr_finder.is_running() else COMPARING if self.compare.is_running() else None)
        if problem:
            self.show_error(problem)
            return False
        try:
            recipe = self.recipe()
        except TlstudioError as e:
            self.show_error(describe_failure(e, FrontEnd.WINDOW))
            return False
        return self.run_buttons.start(recipe)

    def resume_run(self, run_dir: str, epochs: int | None = None) -> bool:
        """Continue a run from its checkpoint (to `epochs` in total, if given)."""
        self.banner.dismiss()
        return self.run_buttons.resume(run_dir, epochs)

    def resume_run_dialog(self) -> None:
        self.run_buttons.ask_and_resume(self.settings_panel.runs_dir.text())

    def _update_start_button(self) -> None:
        self.run_buttons.set_data_ready(self.data_panel.data is not None,
                                        self.form.weights_problem())

    def _set_running(self, running: bool) -> None:
        self.steps.setEnabled(not running)
        for act in (self.open_action, self.open_run_action, self.resume_action):
            act.setEnabled(not running)

    def current_run(self) -> str | None:
        """The run folder every tab shows (None before the first run)."""
        return self.current.path

    def _on_run_started(self, recipe: Recipe) -> None:
        self.current.set(recipe.out_dir)
        self._run_started_at = time.monotonic()
        self.gallery.show_pending(recipe.out_dir)
        self._use_run_model(None)  # Export waits for this run's model
        self.tabs.setCurrentWidget(self.training_view)
        self.training_view.plots.set_head_rate(recipe.lr_decay != 1.0)

    def _on_run_finished(self, run_dir: str) -> None:
        self.statusBar().showMessage(f"Run saved in {run_dir}", 10000)
        self.trainingFinished.emit(run_dir)

    def _show_result(self, result: object) -> None:
        """A run that ends normally ends with its result card; stopped or failed ones do not."""
        if result is not None and not result.stopped:
            took = time.monotonic() - self._run_started_at  # scans and caches included
            summary = summarize(result, took)  # None for a cross-validation: no epochs of its own
            self.training_view.result_card.show_summary(summary)
            self.training_view.progress.setVisible(summary is None)  # a card says it otherwise

    def show_mistakes(self) -> None:
        self.tabs.setCurrentWidget(self.gallery)
        self.gallery.show_misclassified()

    def _use_run_model(self, run_dir: str | None) -> None:
        """Export uses this run's model from now on (None: the current run has none yet)."""
        self.last_run_dir = run_dir
        self.export_action.setEnabled(run_dir is not None)
        self.training_view.export_button.setEnabled(run_dir is not None)
        self.training_view.export_button.setToolTip(
            "Export the current run's model as ONNX, TorchScript or safetensors" if run_dir
            else EXPORT_WAITS)

    # ---- export -------------------------------------------------------------------------

    def export_model(self, path: str, fmt: str | None = None) -> bool:
        """Export the last run to `path` (format from its suffix) without a dialog."""
        return self.exporter.export(self.last_run_dir, path, fmt)

    def export_dialog(self) -> None:
        self.exporter.ask_and_export(self, self.last_run_dir)

    def _on_export_started(self, path: str) -> None:
        self.training_view.append_log(f"Exporting to {path}…")

    def _on_exported(self, result: object) -> None:
        text = describe_result(result)
        self.training_view.append_log(text)
        self.show_info(text)

    # ---- results --------------------------------------------------------------------------

    def show_gallery_cell(self, true: str, predicted: str) -> None:
        """A confusion-matrix cell was clicked: show its images in the Gallery tab, at the
        epoch the matrix shows (the Gallery held the saved epoch's: a cell of 2 said 0)."""
        state = self.results_view.state
        run, epoch = state.run_dir, state.shown_epoch
        if run and epoch and state.shown_folder is None and state.shown is not None:
            # The evaluation the matrix was drawn from: no second read, nothing on this thread.
            self.gallery.set_evaluation(run, state.shown)
        self.tabs.setCurrentWidget(self.gallery)
        self.gallery.show_cell(true, predicted, epoch)

    def _show_evaluation(self, run_dir: str, evaluation: object) -> None:
        """The Gallery shows the current run only (a late evaluation of another is dropped)."""
        if self.current.allows(run_dir):
            self.gallery.set_evaluation(run_dir, evaluation)

    def _show_evaluation_error(self, run_dir: str, message: str) -> None:
        """An evaluation that failed for a run the user has since left is not their problem."""
        if self.current.allows(run_dir):
            self.show_error(message)

    def _on_run_opened(self, run_dir: str) -> None:
        self.current.set(run_dir)
        self._use_run_model(None)
        self.tabs.setCurrentWidget(self.results_view)
        self.evaluations.load(run_dir)  # the gallery shows the opened run's last epoch
        if RunFolder.at(run_dir).has_model():
            self._use_run_model(run_dir)
            self.try_images.set_run(run_dir)

    # ---- drag and drop: image files to Try images, a folder is the training data ---------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if drop_target(self, event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        accept_drop(self, event)

    # ---- settings and closing -----------------------------------------------------------

    def save_settings(self) -> None:
        self.form.save_settings(self.settings)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()

    def restore_settings(self) -> None:
        self.form.restore_settings(self.settings)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.data_panel.restore_settings(self.settings)

    def closeEvent(self, event: QCloseEvent) -> None:
        if may_close(self, event):
            super().closeEvent(event)
