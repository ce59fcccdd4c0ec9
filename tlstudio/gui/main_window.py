"""The studio window: assembles the step panels, the tabs (Data, Training, Results, Gallery,
Try images, Runs) and the File actions.

Behaviour lives in the panels, RecipeForm (the steps as one Recipe) and RunButtons (a run's
life through the TrainingController); this module assembles them and wires their signals.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
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
from tlstudio.gui.compare.compare_action import CompareStrategies
from tlstudio.gui.dataset.dataset_view import DatasetView
from tlstudio.gui.domain.shift_view import ShiftView
from tlstudio.gui.export.export_dialog import Exporter, describe_result
from tlstudio.gui.gallery.gallery import PredictionGallery
from tlstudio.gui.help.help_menu import HelpMenu
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
from tlstudio.gui.window_parts import fill_runs_menu, keep_on_screen, tab_order_follows_steps
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
        self._build_actions()
        self._connect()
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

    def _build_actions(self) -> None:
        def action(text: str, slot, shortcut=None) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(shortcut)
            act.triggered.connect(slot)
            return act

        self.open_folder_action = action("Open folder…", self.data_panel.train_folder.browse,
                                         QKeySequence("Ctrl+O"))
        self.open_action = action("Open recipe…", self.open_recipe_dialog,
                                  QKeySequence("Ctrl+Shift+O"))
        self.save_action = action("Save recipe…", self.save_recipe_dialog, QKeySequence.Save)
        self.resume_action = action("Resume run…", self.resume_run_dialog)
        self.export_action = action("Export model…", self.export_dialog)
        self.export_action.setEnabled(False)
        self.open_run_action = action("Open run…", self.results_view.ask_open_run)
        quit_action = action("Quit", self.close, QKeySequence.Quit)
        menu = self.menuBar().addMenu("&File")
        for act in (self.open_folder_action, self.open_action, self.save_action,
                    self.open_run_action, self.resume_action, self.export_action,
                    self.compare.action):
            menu.addAction(act)
        self.runs_menu = menu.addMenu("Runs")
        self.runs_menu.setObjectName("runsMenu")
        self.runs_menu.setToolTipsVisible(True)
        self.runs_menu.aboutToShow.connect(self.runs_view.refresh)  # refills when listed
        menu.addSeparator()
        menu.addAction(quit_action)
        # Train and Stop act through their buttons, so a disabled button disables its key too.
        self.train_action = action("Train", self._click(self.start_button))
        self.train_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.stop_action = action("Stop", self._click(self.stop_button), QKeySequence("Esc"))
        self.addActions([self.train_action, self.stop_action])
        self.help_menu = HelpMenu(self)
        self.menuBar().addMenu(self.help_menu)

    @staticmethod
    def _click(button):
        def click() -> None:
            if button.isEnabled():
                button.click()
        return click

    def _connect(self) -> None:
        self.data_panel.scanStarted.connect(self.banner.dismiss)
        self.data_panel.scanned.connect(self._on_scanned)
        self.data_panel.scanned.connect(self.advanced_panel.show_scan)
        self.settings_panel.image_size.valueChanged.connect(
            self.advanced_panel.preview.set_image_size)
        self.data_panel.scanFailed.connect(self._on_scan_failed)
        self.data_panel.splitFound.connect(self.show_info)
        self.data_panel.splitChanged.connect(self.dataset_view.set_val_split)
        self.settings_panel.image_size.valueChanged.connect(self.dataset_view.set_image_size)
        self.data_panel.cleared.connect(self.dataset_view.show_empty)
        for signal in (self.data_panel.scanStarted, self.data_panel.scanFailed,
                       self.data_panel.cleared):
            signal.connect(self._update_start_button)
        self.dataset_view.empty.chooseFolder.connect(self.data_panel.train_folder.browse)
        self.dataset_view.empty.tryDemo.connect(self.load_demo)
        self.backbone_panel.backboneChanged.connect(self._on_backbone_changed)
        self.backbone_panel.downloadFailed.connect(self.show_error)
        self.backbone_panel.weightsChanged.connect(self._update_start_button)
        self.start_button.clicked.connect(self.start_training)
        runs = self.run_buttons
        runs.runningChanged.connect(self._set_running)
        runs.started.connect(self._on_run_started)
        runs.started.connect(self.training_view.folds.on_run_started)
        runs.resumed.connect(self.apply_recipe)  # the sidebar shows what the resumed run trains
        runs.modelSaved.connect(self._use_run_model)
        runs.finished.connect(self._on_run_finished)
        runs.failed.connect(self.show_error)
        self.training_view.export_button.clicked.connect(self.export_dialog)
        card = self.training_view.result_card
        card.mistakesRequested.connect(self.show_mistakes)
        card.tryRequested.connect(lambda: self.tabs.setCurrentWidget(self.try_images))
        card.exportRequested.connect(self.export_dialog)
        self.controller.finished.connect(self._show_result)
        self.exporter.started.connect(self._on_export_started)
        self.exporter.exported.connect(self._on_exported)
        self.exporter.failed.connect(self.show_error)

        for signal in (self.settings_panel.epochs.valueChanged, self.settings_panel.lr.valueChanged,
                       self.freeze_panel.changed, self.advanced_panel.changed):
            signal.connect(self.form.show_phase_plan)

        c, view = self.controller, self.training_view
        c.fitStarted.connect(view.on_fit_started)
        c.fitStarted.connect(self.advanced_panel.show_fit_started)
        c.fitStarted.connect(self.settings_panel.show_fit_started)
        c.phaseProgress.connect(view.on_phase)
        c.batchProgress.connect(view.on_batch)
        c.epochEnded.connect(view.on_epoch)
        c.foldEnded.connect(view.folds.on_fold)
        c.finished.connect(view.folds.on_finished)
        c.log.connect(view.append_log)
        c.fitStarted.connect(self.results_view.on_fit_started)
        c.epochEnded.connect(self.results_view.on_epoch)
        c.finished.connect(self.results_view.on_training_finished)
        self.results_view.cellActivated.connect(self.show_gallery_cell)
        self.results_view.runOpened.connect(self._on_run_opened)
        self.evaluations.follow(c)
        c.fitStarted.connect(self.gallery.on_training_started)
        c.finished.connect(self.gallery.on_training_finished)
        self.evaluations.evaluated.connect(self._show_evaluation)
        self.evaluations.failed.connect(self.show_error)
        self.gallery.datasetChanged.connect(self.data_panel.rescan)
        self.current.changed.connect(self.try_images.follow_run)  # its model, when it has one
        runs.modelSaved.connect(self.try_images.set_run)
        self._connect_runs_view()
        self.current.changed.connect(self.shift_view.set_run)
        self.trainingFinished.connect(self.shift_view.set_run)  # its target folder, if any
        self.shift_view.failed.connect(self.show_error)

    def _connect_runs_view(self) -> None:
        view = self.runs_view
        view.openRequested.connect(self.results_view.open_run)
        view.failed.connect(self.show_error)
        view.info.connect(self.show_info)
        view.listed.connect(lambda: fill_runs_menu(self))
        self.current.changed.connect(view.set_current)
        self.settings_panel.runs_dir.textChanged.connect(view.set_runs_dir)
        view.set_runs_dir(self.settings_panel.runs_dir.text())
        self.run_buttons.runningChanged.connect(view.set_training)
        self.controller.fitStarted.connect(view.refresh_when_seen)  # its folder exists now

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
            if self.lr_finder.is_running() else None)
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
        if self.current.path is None or Path(run_dir) == Path(self.current.path):
            self.gallery.set_evaluation(run_dir, evaluation)

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
