"""Train / Pause / Stop under the steps, and a run's life in the window: start or resume it
through the TrainingController, pause, stop, and what its end (finished, stopped, failed) shows.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from tlstudio.errors import TlstudioError
from tlstudio.failures import FrontEnd, describe_failure
from tlstudio.gui.training.resume import ask_resume, resume_recipe
from tlstudio.gui.training.training_view import TrainingView
from tlstudio.gui.training.worker import TrainingController
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder

START_STYLE = ("QPushButton#startButton:enabled { background:#2f6fb0; color:white; "
               "font-weight:bold; border-radius:4px; padding: 0 16px; }")
NO_DATA = "Choose a training folder first (step 1)"
TRAIN_TIP = "Train the backbone on the training folder with these settings (Ctrl+Enter)"
RUNNING = "A run is in progress: stop it first"


class RunButtons(QWidget):
    """The run buttons; the window hears what happens through the signals below."""

    runningChanged = Signal(bool)  # a run started (True) or ended (False)
    started = Signal(object)  # the Recipe that trains
    resumed = Signal(object)  # the resumed run's Recipe, with its new total of epochs
    modelSaved = Signal(str)  # a run folder that now holds a model (finished or stopped)
    finished = Signal(str)  # the run folder, when a run ends normally
    failed = Signal(str)  # a message for the user: the run could not start, or it failed

    def __init__(self, controller: TrainingController, view: TrainingView,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="runButtons")
        self.controller, self.view = controller, view
        self.data_ready = False  # the window says when a training folder has been scanned
        self.blocked: str | None = None  # why the steps cannot train yet (no weights), if so
        self.start_button = QPushButton("Train", objectName="startButton")
        self.pause_button = QPushButton("Pause", objectName="pauseButton")
        self.stop_button = QPushButton("Stop", objectName="stopButton")
        self.start_button.setDefault(True)
        self.start_button.setMinimumHeight(36)
        self.start_button.setStyleSheet(START_STYLE)
        self.pause_button.setToolTip("Pause the run after the current batch; click again to "
                                     "go on")
        self.stop_button.setToolTip("Stop the run after the current batch (Esc); the epochs "
                                    "done are kept and the run can be resumed")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.start_button, 2)
        layout.addWidget(self.pause_button, 1)
        layout.addWidget(self.stop_button, 1)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        controller.failed.connect(self._on_failed)
        controller.finished.connect(self._on_finished)
        controller.pausedChanged.connect(self._on_paused_changed)
        self._show_running(False)

    def set_data_ready(self, ready: bool, blocked: str | None = None) -> None:
        """Whether a scanned training folder is there, and why else Train must wait."""
        self.data_ready, self.blocked = ready, blocked
        self._show_start()

    def _show_start(self, running: bool | None = None) -> None:
        if running is None:
            running = self.controller.is_running()
        why_not = RUNNING if running else NO_DATA if not self.data_ready else self.blocked
        self.start_button.setEnabled(why_not is None)
        self.start_button.setToolTip(TRAIN_TIP if why_not is None else why_not)

    def start(self, recipe: Recipe, resume: bool = False) -> bool:
        """Train `recipe` (with `resume`, continue its run folder); False if a run is on."""
        if self.controller.is_running():
            return False
        self.view.on_starting()
        self.view.append_log(f"Resuming {recipe.out_dir} to {recipe.epochs} epoch(s)" if resume
                             else f"Run folder: {recipe.out_dir}")
        self._show_running(True)
        self.controller.start(recipe, resume=resume)
        self.started.emit(recipe)
        if resume:
            self.resumed.emit(recipe)
        return True

    def resume(self, run_dir: str, epochs: int | None = None) -> bool:
        """Continue a run from its checkpoint (to `epochs` in total, if given)."""
        if self.controller.is_running():
            return False
        try:
            recipe = resume_recipe(run_dir, epochs)
        except TlstudioError as e:
            self.failed.emit(describe_failure(e, FrontEnd.WINDOW))
            return False
        return self.start(recipe, resume=True)

    def ask_and_resume(self, runs_dir: str) -> None:
        """File > Resume run…: a folder dialog, the new total of epochs, then the run."""
        try:
            chosen = ask_resume(self.window(), runs_dir)
        except TlstudioError as e:
            self.failed.emit(describe_failure(e, FrontEnd.WINDOW))
            return
        if chosen is not None:
            self.resume(*chosen)

    def toggle_pause(self) -> None:
        """Pause a running run or resume a paused one, as the controller says it is."""
        if self.controller.is_paused():
            self.controller.resume()
        else:
            self.controller.pause()

    def _on_paused_changed(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.view.append_log("Paused" if paused else "Resumed")

    def stop(self) -> None:
        self.stop_button.setEnabled(False)
        self.view.append_log("Stopping after the current batch…")
        self.controller.stop()

    def _show_running(self, running: bool) -> None:
        self._show_start(running)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Pause")
        self.stop_button.setEnabled(running)
        self.runningChanged.emit(running)

    def _on_failed(self, message: str) -> None:
        self.failed.emit(message)
        self.view.append_log(message, "error")
        self.view.on_finished("Failed")

    def _on_finished(self, result: object) -> None:
        self._show_running(False)
        if result is None:  # failed: _on_failed said why
            return
        has_model = RunFolder.at(result.run_dir).has_model()  # a cross-validation's: per fold
        if has_model:
            self.modelSaved.emit(result.run_dir)
        if result.stopped:
            self.view.on_finished("Stopped")
            # A cross-validation has no epochs of its own: its fold view says how far it got.
            self.view.append_log(f"Stopped after {len(result.epochs)} epoch(s)" if result.epochs
                                 else "Stopped", "warning")
            return
        self.view.on_finished("Finished")
        self.view.append_log(f"Finished: the {'model' if has_model else 'run'} is in "
                             f"{result.run_dir}")
        self.finished.emit(result.run_dir)
