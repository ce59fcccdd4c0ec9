"""The Results tab: a run's confusion matrix and metrics table, after any epoch (epoch slider)
or on another labelled folder, following a run while it trains, and the HTML report.

What the tab shows is a ResultsState (Qt-free, pure transitions); this view turns events into
transitions, renders the state and starts the load it names off the GUI thread (a new load
cancels the previous one, so a slow older one never overwrites what was asked for last).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from tlstudio.evaluation import Load, ResultsState, RunEvaluation, ShownResults
from tlstudio.evaluation.epochs import model_epoch
from tlstudio.gui.results.figures import Figures
from tlstudio.gui.results.results_jobs import (
    epoch_job,
    has_model,
    model_job,
    open_run_job,
    run_folder_problem,
)
from tlstudio.gui.results.results_report import ReportBar
from tlstudio.gui.shared.background import BackgroundJob, error_message
from tlstudio.gui.shared.palette_colours import message_colours, muted_text
from tlstudio.runs import RunFolder
from tlstudio.training.events import EpochEnded, FitStarted

VALIDATION = "Validation images of the run"
CHOOSE_FOLDER = "Another labelled folder…"
EPOCH_TIP = "The matrix and the table as they were after this epoch (default: the last)"


class ResultsView(QWidget):
    """What the model gets right and wrong; `cellActivated(true, predicted)` on a matrix click."""

    cellActivated = Signal(str, str)  # true class, predicted class
    runOpened = Signal(str)  # a run folder opened with open_run (File > Open run…)
    evaluationShown = Signal(object)  # the RunEvaluation now on screen
    reportWritten = Signal(str)  # path of the HTML report

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="resultsView")
        self.state = ResultsState()
        self._display = BackgroundJob(self)  # the load of what the tab shows next
        self._display.returned.connect(self._on_results)
        self._display.errored.connect(self._on_failed)
        self._display.progress.connect(self._on_progress)
        self._display.finished.connect(self._update_controls)
        # Stored epochs never change while a run is shown (a resumed run starts afresh), so
        # scrubbing back and forth reads each epoch once.
        self._epoch_cache: dict[int, RunEvaluation] = {}
        self._build()

    # What the rest of the window reads. The saved model's epoch is known once the run has
    # finished (None while training): export, Try images and the report use it.
    run_dir = property(lambda self: self.state.run_dir)
    training = property(lambda self: self.state.training)
    shown = property(lambda self: self.state.shown)
    shown_epoch = property(lambda self: self.state.shown_epoch)
    model_epoch = property(lambda self: self.state.model_epoch)

    # ---- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_choices())
        layout.addLayout(self._build_epochs())
        self.summary = QLabel(objectName="resultsSummary", wordWrap=True)
        self.message = QLabel(objectName="resultsMessage", wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        layout.addWidget(self.summary)
        layout.addWidget(self.message)
        layout.addWidget(self._build_busy())
        layout.addWidget(self._build_figures(), 1)
        self.report = ReportBar()
        self.report.written.connect(self._on_report_done)
        self.report.written.connect(self.reportWritten)
        self.report.failed.connect(self._on_report_done)
        self.report.failed.connect(self.show_message)
        layout.addWidget(self.report)
        self._update_controls()

    def _build_choices(self) -> QHBoxLayout:
        self.source = QComboBox(objectName="resultsSource")
        self.source.addItem(VALIDATION, None)
        self.source.addItem(CHOOSE_FOLDER, CHOOSE_FOLDER)
        self.source.setToolTip("Which labelled images the matrix and the table describe "
                               "(default: the run's validation images)")
        self.source.activated.connect(self._on_source_activated)
        self.report_button = QPushButton("Report…", objectName="reportButton")
        self.report_button.setToolTip("Write a self-contained HTML report of this run")
        self.report_button.clicked.connect(self.ask_report)
        top = QHBoxLayout()
        top.addWidget(QLabel("Evaluate on:"))
        top.addWidget(self.source, 1)
        top.addWidget(self.report_button)
        return top

    def _build_epochs(self) -> QHBoxLayout:
        self.epoch_label = QLabel("No epoch yet", objectName="epochLabel")
        self.epoch_label.setMinimumWidth(110)
        self.epoch_slider = QSlider(Qt.Orientation.Horizontal, objectName="epochSlider")
        self.epoch_slider.setRange(1, 1)
        self.epoch_slider.setPageStep(1)
        self.epoch_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.epoch_slider.setToolTip(EPOCH_TIP)
        self.epoch_slider.valueChanged.connect(self._on_slider)
        epochs = QHBoxLayout()
        epochs.addWidget(self.epoch_label)
        epochs.addWidget(self.epoch_slider, 1)
        return epochs

    def _build_busy(self) -> QWidget:
        """The folder evaluation's progress bar and Cancel button, shown while it runs."""
        self.progress = QProgressBar(objectName="resultsProgress")
        self.progress.setFormat("Evaluating %v of %m images")
        self.cancel_button = QPushButton("Cancel", objectName="cancelEvaluationButton")
        self.cancel_button.clicked.connect(self.cancel_evaluation)
        busy = QHBoxLayout()
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.cancel_button)
        self.busy = QWidget()
        self.busy.setLayout(busy)
        busy.setContentsMargins(0, 0, 0, 0)
        self.busy.hide()
        return self.busy

    def _build_figures(self) -> Figures:
        self.figures = Figures()
        self.matrix, self.table = self.figures.matrix, self.figures.table
        self.matrix_area, self.table_area = self.figures.matrix_area, self.figures.table_area
        self.matrix.cellActivated.connect(self._on_cell)
        self.matrix.cellActivated.connect(self.cellActivated)
        return self.figures

    # ---- opening a run ------------------------------------------------------------------

    def ask_open_run(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a run folder", self.run_dir or "")
        if path:
            self.open_run(path)

    def open_run(self, path: str) -> bool:
        """Show the run in `path` (its saved model's epoch); False, with a message, if it is
        not one."""
        problem = run_folder_problem(path)
        if problem is not None:
            self.show_message(problem)
            return False
        self._reset()
        self._apply(ResultsState.opened(str(Path(path))))
        self.matrix.clear("Loading the run…")
        self.runOpened.emit(self.run_dir)
        return True

    def _reset(self) -> None:
        """Forget the run shown: its loads, report, cached epochs and figures."""
        self.cancel()
        self._epoch_cache.clear()
        self.summary.clear()
        self.table.clear_rows()
        self.message.hide()

    # ---- following a training run ---------------------------------------------------------

    @Slot(object)
    def on_fit_started(self, event: FitStarted) -> None:
        self._reset()
        self._apply(ResultsState.training_started(event.run_dir))
        self.matrix.clear("Training: the matrix appears when the first epoch ends")

    @Slot(object)
    def on_epoch(self, event: EpochEnded) -> None:
        """A new epoch's predictions are on disk: extend the slider; follow it if the user
        was looking at the latest epoch."""
        self._apply(self.state.epoch_ended(event.epoch))

    @Slot(object)
    def on_training_finished(self, result: object) -> None:
        """Training ended: show the epoch of the run's saved model (the best epoch's with
        "Keep the best epoch's model"), the one export, Try images and the report use."""
        saved = None
        if result is not None and self.run_dir is not None and self.epochs():
            saved = model_epoch(self.run_dir, self.epochs())
        self._apply(self.state.training_finished(saved))

    # ---- the user's choices -------------------------------------------------------------

    def epochs(self) -> int:
        return self.state.epochs

    def show_epoch(self, epoch: int) -> None:
        self.epoch_slider.setValue(epoch)

    @Slot(int)
    def _on_slider(self, epoch: int) -> None:
        self._apply(self.state.epoch_chosen(epoch))

    @Slot(int)
    def _on_source_activated(self, index: int) -> None:
        data = self.source.itemData(index)
        if data == CHOOSE_FOLDER:
            path = QFileDialog.getExistingDirectory(
                self, "Labelled folder to evaluate on (one subfolder per class)")
            if not path or not self.evaluate_folder(path):
                self._render_source()
        elif data is None:
            self._apply(self.state.validation_chosen())
        else:
            self.evaluate_folder(data)

    def evaluate_folder(self, path: str) -> bool:
        """Run the model on a labelled folder (progress bar, Cancel) and show the results."""
        if self.run_dir is None or not has_model(self.run_dir):
            self.show_message("Evaluating a folder needs a trained model: wait until training "
                              "ends or open a finished run.")
            return False
        self._apply(self.state.folder_chosen(str(Path(path))))
        return True

    @Slot(str, str)
    def _on_cell(self, true: str, predicted: str) -> None:
        self._apply(self.state.cell_opened(true, predicted))

    def cancel_evaluation(self) -> None:
        self._apply(self.state.evaluation_cancelled())
        self.show_message("Evaluation cancelled.", "info")

    # ---- loads --------------------------------------------------------------------------

    def _apply(self, state: ResultsState) -> None:
        """Make `state` the tab's: start (or cancel) the load it names, and render it."""
        old, self.state = self.state, state
        if state.loading != old.loading:
            self._load(state.loading)
            if self.state is not state:  # answered from the cache, and rendered
                return
        self._render()

    def _load(self, load: Load | None) -> None:
        cached = self._epoch_cache.get(load.epoch) if load and load.kind == "epoch" else None
        if load is None or cached is not None:
            self._display.cancel()
            self.busy.hide()
            if cached is not None:
                self._arrived(ShownResults(cached, load.epoch, load.epoch))
            return
        self.busy.setVisible(load.kind == "model" or load.kind == "open" and not self.shown)
        self.progress.setRange(0, 0)  # busy until the first progress report
        if load.kind == "open":
            self._display.start(open_run_job, self.run_dir)
        elif load.kind == "epoch":
            self._display.start(epoch_job, self.run_dir, load.epoch)
        else:
            self._display.start(model_job, self.run_dir, load.folder)

    @Slot(object)
    def _on_results(self, results: ShownResults) -> None:
        if results.epoch is not None:
            self._epoch_cache[results.epoch] = results.evaluation
        self._arrived(results)

    def _arrived(self, results: ShownResults) -> None:
        """Show what a load brought (or the cache had)."""
        self._apply(self.state.results_arrived(results))
        ev = results.evaluation.evaluation
        self.show_matrix(ev.classes, ev.confusion)
        self.matrix.select_cell(self.state.cell)  # the cell opened before, if still there
        self.table.show_evaluation(ev)
        self.figures.fit()  # the table's width is known now
        self.message.hide()
        self.evaluationShown.emit(results.evaluation)

    @Slot(object)
    def _on_failed(self, error: Exception) -> None:
        self.show_message(error_message(error))
        self._apply(self.state.load_failed())
        if self.shown is None:
            self.matrix.clear("Nothing to show: see the message above")

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    # ---- rendering ----------------------------------------------------------------------

    def _render(self) -> None:
        """Everything but the figures, which change only when results arrive."""
        state = self.state
        slider = self.epoch_slider
        slider.blockSignals(True)
        slider.setRange(1, max(1, state.epochs))
        slider.setValue(max(1, state.epoch))
        slider.blockSignals(False)
        slider.setEnabled(state.epochs > 0)
        self.epoch_label.setText(state.epoch_caption())
        slider.setToolTip(EPOCH_TIP + (
            f". The saved model is epoch {state.model_epoch}'s" if state.model_epoch else ""))
        self._render_source()
        self._update_summary()
        self._update_controls()

    def _render_source(self) -> None:
        """The "Evaluate on" list: the validation images, this run's folders, "Another…"."""
        offered = [self.source.itemData(i) for i in range(1, self.source.count() - 1)]
        if offered != list(self.state.folders):
            for _ in offered:
                self.source.removeItem(1)
            for i, folder in enumerate(self.state.folders):
                self.source.insertItem(1 + i, f"Folder: {folder}", folder)
        folder = self.state.folder
        self.source.setCurrentIndex(max(0, self.source.findData(folder)) if folder else 0)

    def _update_summary(self) -> None:
        saved = self._epoch_cache.get(self.model_epoch) if self.model_epoch else None
        self.summary.setText(self.state.summary_html(
            saved.evaluation.accuracy if saved is not None else None))

    def show_matrix(self, classes: Sequence[str], counts: Sequence[Sequence[int]]) -> None:
        self.figures.show_matrix(classes, counts)

    def is_busy(self) -> bool:
        return self._display.is_running() or self.report.is_busy()

    # ---- report -------------------------------------------------------------------------

    def ask_report(self) -> None:
        if self.run_dir is None:
            return
        default = str(RunFolder.at(self.run_dir).report)
        path, _ = QFileDialog.getSaveFileName(self, "Save the report", default,
                                              "HTML report (*.html)")
        if path:
            self.write_report(path if path.lower().endswith((".html", ".htm"))
                              else path + ".html")

    def write_report(self, path: str) -> bool:
        """Write the report of the run (on the folder shown, if one is) to `path`."""
        if self.run_dir is None or not has_model(self.run_dir):
            return False
        folder = self.state.shown_folder
        evaluation = self.shown if folder is not None else None
        started = self.report.write(self.run_dir, path, folder, evaluation)
        self._update_controls()
        return started

    # ---- state --------------------------------------------------------------------------

    def show_message(self, text: str, kind: str = "error") -> None:
        self.message.setStyleSheet(f"color:{message_colours('error').text};" if kind == "error"
                                   else f"color:{muted_text()};")
        self.message.setText(text)
        self.message.show()

    def _on_report_done(self, *_: object) -> None:
        self._update_controls()

    def _update_controls(self) -> None:
        model = self.run_dir is not None and has_model(self.run_dir)
        self.report_button.setEnabled(model and not self.report.is_busy() and not self.training)
        self.report_button.setToolTip(
            "Write a self-contained HTML report of this run" if model and not self.training
            else "The report needs the trained model: available when training ends")
        self.source.setEnabled(self.run_dir is not None)
        self.source.model().item(self.source.count() - 1).setEnabled(model and not self.training)

    def cancel(self) -> None:
        """Cancel every job (closing the window); results still on their way are dropped."""
        self._display.cancel()
        self.state = replace(self.state, loading=None)
        self.report.clear()
        self.busy.hide()
