"""The Results tab: a run's confusion matrix and metrics table, after any epoch (epoch slider)
or on another labelled folder, following a run while it trains, and the HTML report.

Every evaluation runs off the GUI thread; only the newest request is shown, so a slow older
one finishing late never overwrites what the user asked for last.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from tlstudio.evaluation import RunEvaluation
from tlstudio.evaluation.epochs import model_epoch
from tlstudio.gui.results.confusion_matrix import ConfusionMatrixView
from tlstudio.gui.results.metrics_table import MetricsTable
from tlstudio.gui.results.results_jobs import (
    ShownResults,
    epoch_job,
    has_model,
    model_job,
    open_run_job,
    run_folder_problem,
)
from tlstudio.gui.results.results_report import ReportBar
from tlstudio.gui.shared.background import BackgroundJob, error_message
from tlstudio.training.events import EpochEnded, FitStarted

VALIDATION = "Validation images of the run"
CHOOSE_FOLDER = "Another labelled folder…"
MATRIX_FIRST = 480  # px of width the matrix gets before the metrics table; beyond, it scrolls
TABLE_MIN_WIDTH = 160  # the metrics table shrinks to this and scrolls sideways
MESSAGE_STYLES = {"error": "color:#8c1d18;", "info": "color:#555;"}


class ResultsView(QWidget):
    """What the model gets right and wrong; `cellActivated(true, predicted)` on a matrix click."""

    cellActivated = Signal(str, str)  # true class, predicted class
    runOpened = Signal(str)  # a run folder opened with open_run (File > Open run…)
    evaluationShown = Signal(object)  # the RunEvaluation now on screen
    reportWritten = Signal(str)  # path of the HTML report

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="resultsView")
        self.run_dir: str | None = None
        self.training = False  # the shown run is training: epochs keep arriving
        self.shown: RunEvaluation | None = None
        self.shown_epoch: int | None = None
        # The epoch of the run's saved model, known once the run has finished (None while
        # training): export, Try images and the report use it, not always the last epoch.
        self.model_epoch: int | None = None
        self._folder: str | None = None  # the labelled folder asked for instead of validation
        self._shown_folder: str | None = None  # the folder of what is on screen
        self._display = BackgroundJob(self)  # what the matrix and the table will show next
        self._display.returned.connect(self._on_results)
        self._display.errored.connect(self._on_failed)
        self._display.progress.connect(self._on_progress)
        self._display.finished.connect(self._on_done)
        # Stored epochs never change while a run is shown (a resumed run starts afresh), so
        # scrubbing back and forth reads each epoch once.
        self._epoch_cache: dict[int, RunEvaluation] = {}
        self._build()

    # ---- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        self.source = QComboBox(objectName="resultsSource")
        self.source.addItem(VALIDATION, None)
        self.source.addItem(CHOOSE_FOLDER, CHOOSE_FOLDER)
        self.source.setToolTip("Which labelled images the matrix and the table describe")
        self.source.activated.connect(self._on_source_activated)
        self.report_button = QPushButton("Report…", objectName="reportButton")
        self.report_button.setToolTip("Write a self-contained HTML report of this run")
        self.report_button.clicked.connect(self.ask_report)
        top = QHBoxLayout()
        top.addWidget(QLabel("Evaluate on:"))
        top.addWidget(self.source, 1)
        top.addWidget(self.report_button)

        self.epoch_label = QLabel("No epoch yet", objectName="epochLabel")
        self.epoch_label.setMinimumWidth(110)
        self.epoch_slider = QSlider(Qt.Orientation.Horizontal, objectName="epochSlider")
        self.epoch_slider.setRange(1, 1)
        self.epoch_slider.setPageStep(1)
        self.epoch_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.epoch_slider.setToolTip("The matrix and the table as they were after this epoch")
        self.epoch_slider.valueChanged.connect(self._on_slider)
        epochs = QHBoxLayout()
        epochs.addWidget(self.epoch_label)
        epochs.addWidget(self.epoch_slider, 1)

        self.summary = QLabel(objectName="resultsSummary", wordWrap=True)
        self.message = QLabel(objectName="resultsMessage", wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
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

        self.matrix = ConfusionMatrixView()
        self.matrix.cellActivated.connect(self.cellActivated)
        legend = QLabel("Rows: true class · columns: predicted class · colour: share of the "
                        "row. Click a cell to see its images in the Gallery.",
                        objectName="matrixLegend", wordWrap=True)
        legend.setStyleSheet("color:#666;")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        # Counts stay readable: the matrix keeps its minimum cells (scrolling if it must),
        # and the metrics table, not the matrix, gives up width in a narrow window.
        self.matrix_area = _scroll(self.matrix, "matrixScroll")
        left_layout.addWidget(self.matrix_area, 1)
        left_layout.addWidget(legend)
        self.table = MetricsTable()
        self.table_area = _scroll(self.table, "metricsScroll")
        self.table_area.setMinimumWidth(TABLE_MIN_WIDTH)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.table_area)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        self.report = ReportBar()
        self.report.written.connect(self._on_report_done)
        self.report.written.connect(self.reportWritten)
        self.report.failed.connect(self._on_report_done)
        self.report.failed.connect(self.show_message)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(epochs)
        layout.addWidget(self.summary)
        layout.addWidget(self.message)
        layout.addWidget(self.busy)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.report)
        self._update_controls()

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
        self._reset(str(Path(path)), training=False)
        self.matrix.clear("Loading the run…")
        self._start(open_run_job, self.run_dir)
        self.runOpened.emit(self.run_dir)
        return True

    def _reset(self, run_dir: str, training: bool) -> None:
        self.cancel()
        self.run_dir, self.training = run_dir, training
        self.shown, self.shown_epoch, self.model_epoch = None, None, None
        self._folder = self._shown_folder = None
        self._epoch_cache.clear()
        while self.source.count() > 2:  # folders chosen for the previous run
            self.source.removeItem(1)
        self.source.setCurrentIndex(0)
        self._set_epochs(0)
        self.summary.clear()
        self.table.clear_rows()
        self.report.clear()
        self.message.hide()

    # ---- following a training run ---------------------------------------------------------

    @Slot(object)
    def on_fit_started(self, event: FitStarted) -> None:
        self._reset(event.run_dir, training=True)
        self.matrix.clear("Training: the matrix appears when the first epoch ends")
        self._update_controls()

    @Slot(object)
    def on_epoch(self, event: EpochEnded) -> None:
        """A new epoch's predictions are on disk: extend the slider; follow it if the user
        was looking at the latest epoch."""
        if self.run_dir is None or not self.training:
            return
        slider = self.epoch_slider
        following = self.shown_epoch is None or slider.value() >= slider.maximum()
        self._set_epochs(event.epoch, keep=not following)
        if following and self._folder is None:
            self._request_epoch(event.epoch)

    @Slot(object)
    def on_training_finished(self, result: object) -> None:
        """Training ended: show the epoch of the run's saved model (the best epoch's with
        "Keep the best epoch's model"), the one export, Try images and the report use."""
        self.training = False
        if result is not None and self.run_dir is not None and self.epochs():
            self.model_epoch = model_epoch(self.run_dir, self.epochs())
            if self._folder is None:
                self.show_epoch(self.model_epoch)
            self._update_epoch_label()
            self._update_summary()  # names the saved model if another epoch is still shown
        self._update_controls()

    # ---- epochs -------------------------------------------------------------------------

    def epochs(self) -> int:
        return self.epoch_slider.maximum() if self.epoch_slider.isEnabled() else 0

    def _set_epochs(self, last: int, keep: bool = False, at: int | None = None) -> None:
        """Slider range 1..last; the handle moves to `at` (default `last`) unless `keep`."""
        slider = self.epoch_slider
        slider.blockSignals(True)
        slider.setRange(1, max(1, last))
        if not keep:
            slider.setValue(max(1, last if at is None else at))
        slider.blockSignals(False)
        slider.setEnabled(last > 0)
        self._update_epoch_label()
        self._update_controls()

    def _update_epoch_label(self) -> None:
        slider = self.epoch_slider
        if not slider.isEnabled():
            self.epoch_label.setText("No epoch yet")
        else:
            saved = " · the saved model" if slider.value() == self.model_epoch else ""
            self.epoch_label.setText(f"Epoch {slider.value()} of {slider.maximum()}{saved}")
        self.epoch_slider.setToolTip(
            "The matrix and the table as they were after this epoch"
            + (f". The saved model is epoch {self.model_epoch}'s" if self.model_epoch else ""))

    def show_epoch(self, epoch: int) -> None:
        self.epoch_slider.setValue(epoch)

    @Slot(int)
    def _on_slider(self, epoch: int) -> None:
        self._update_epoch_label()
        if self._folder is not None:  # looking at a folder: back to the validation images
            self.source.setCurrentIndex(0)
            self._folder = None
        self._request_epoch(epoch)

    def _request_epoch(self, epoch: int) -> None:
        if self.run_dir is None:
            return
        if epoch in self._epoch_cache:
            self._forget_request()
            self._shown_folder = None
            self._show(self._epoch_cache[epoch], epoch)
        else:
            self._start(epoch_job, self.run_dir, epoch)

    # ---- another labelled folder ---------------------------------------------------------

    @Slot(int)
    def _on_source_activated(self, index: int) -> None:
        data = self.source.itemData(index)
        if data == CHOOSE_FOLDER:
            path = QFileDialog.getExistingDirectory(
                self, "Labelled folder to evaluate on (one subfolder per class)")
            if not path or not self.evaluate_folder(path):
                self._select_source(self._folder)
        elif data is None:
            self._folder = None
            if self.epochs():
                self._request_epoch(self.epoch_slider.value())
            elif self.run_dir is not None:
                self._start(open_run_job, self.run_dir)
        else:
            self.evaluate_folder(data)

    def evaluate_folder(self, path: str) -> bool:
        """Run the model on a labelled folder (progress bar, Cancel) and show the results."""
        if self.run_dir is None or not has_model(self.run_dir):
            self.show_message("Evaluating a folder needs a trained model: wait until training "
                              "ends or open a finished run.")
            return False
        path = str(Path(path))
        if self.source.findData(path) < 0:
            self.source.insertItem(self.source.count() - 1, f"Folder: {path}", path)
        self._folder = path
        self._select_source(path)
        self._start(model_job, self.run_dir, path)
        return True

    def _select_source(self, folder: str | None) -> None:
        index = self.source.findData(folder) if folder else 0
        self.source.setCurrentIndex(max(0, index))

    def cancel_evaluation(self) -> None:
        self._forget_request()
        self.show_message("Evaluation cancelled.", "info")
        self._folder = self._shown_folder  # back to what is still on screen
        self._select_source(self._folder)

    # ---- background requests ------------------------------------------------------------

    def _forget_request(self) -> None:
        """Cancel the display request in flight; whatever it still sends is dropped."""
        if self._display.is_running():
            self._display.cancel()
            self.busy.hide()

    def _start(self, job, *args) -> None:
        """Start a display request; the previous one is cancelled and its results dropped."""
        self._forget_request()
        self.busy.setVisible(job is model_job or job is open_run_job and not self.shown)
        self.progress.setRange(0, 0)  # busy until the first progress report
        self._display.start(job, *args)

    @Slot(object)
    def _on_results(self, results: ShownResults) -> None:
        if results.model_epoch is not None and not self.training:
            # An opened run: now we know its epochs, and shows its saved model's.
            self.model_epoch = results.model_epoch
            self._set_epochs(results.epochs, at=results.epoch)
        elif results.epoch is not None and results.epochs > self.epochs() and not self.training:
            self._set_epochs(results.epochs)
        self._shown_folder = self._folder
        if results.epoch is not None:
            self._epoch_cache[results.epoch] = results.evaluation
        self._show(results.evaluation, results.epoch)

    @Slot(object)
    def _on_failed(self, error: Exception) -> None:
        self.show_message(error_message(error))
        failed = self._folder
        if failed is not None and failed != self._shown_folder:  # a folder that never showed
            self.source.removeItem(self.source.findData(failed))
        self._folder = self._shown_folder
        self._select_source(self._folder)
        if self.shown is None:
            self.matrix.clear("Nothing to show: see the message above")

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    @Slot()
    def _on_done(self) -> None:
        self.busy.hide()
        self._update_controls()

    def _show(self, evaluation: RunEvaluation, epoch: int | None) -> None:
        self.shown, self.shown_epoch = evaluation, epoch
        ev = evaluation.evaluation
        self.show_matrix(ev.classes, ev.confusion)
        self.table.show_evaluation(ev)
        self._update_summary()
        self.message.hide()
        self._update_controls()
        self.evaluationShown.emit(evaluation)

    def _update_summary(self) -> None:
        if self.shown is None:
            return
        ev = self.shown.evaluation
        skipped = f" ({len(self.shown.skipped)} unreadable files left out)" \
            if self.shown.skipped else ""
        note = ev.absent_note()
        self.summary.setText(f"<b>Accuracy {ev.accuracy:.1%}</b> on {ev.total} images: "
                             f"{escape(self.shown.images)}{skipped}."
                             + (f"<br>{escape(note)}" if note else "")
                             + self._saved_model_note())

    def _saved_model_note(self) -> str:
        """Where the shown epoch is not the saved model's: which one is, and how it did."""
        epoch = self.shown_epoch
        if epoch is None or self.model_epoch is None or epoch == self.model_epoch:
            return ""
        saved = self._epoch_cache.get(self.model_epoch)
        score = f" ({saved.evaluation.accuracy:.1%} on these images)" if saved else ""
        return f"<br>The saved model is epoch {self.model_epoch}'s{score}."

    def show_matrix(self, classes: Sequence[str], counts: Sequence[Sequence[int]]) -> None:
        """The matrix gets the width its smallest readable cells need (up to MATRIX_FIRST)
        before the metrics table gets any."""
        self.matrix.set_matrix(classes, counts)
        needed = self.matrix.minimumSizeHint().width() + 2 * self.matrix_area.frameWidth()
        self.matrix_area.setMinimumWidth(min(MATRIX_FIRST, needed))

    def is_busy(self) -> bool:
        return self._display.is_running() or self.report.is_busy()

    # ---- report -------------------------------------------------------------------------

    def ask_report(self) -> None:
        if self.run_dir is None:
            return
        default = str(Path(self.run_dir) / "report.html")
        path, _ = QFileDialog.getSaveFileName(self, "Save the report", default,
                                              "HTML report (*.html)")
        if path:
            self.write_report(path if path.lower().endswith((".html", ".htm"))
                              else path + ".html")

    def write_report(self, path: str) -> bool:
        """Write the report of the run (on the folder shown, if one is) to `path`."""
        if self.run_dir is None or not has_model(self.run_dir):
            return False
        evaluation = self.shown if self._shown_folder is not None else None
        started = self.report.write(self.run_dir, path, self._shown_folder, evaluation)
        self._update_controls()
        return started

    def _on_report_done(self, *_: object) -> None:
        self._update_controls()

    # ---- state --------------------------------------------------------------------------

    def show_message(self, text: str, kind: str = "error") -> None:
        self.message.setStyleSheet(MESSAGE_STYLES[kind])
        self.message.setText(text)
        self.message.show()

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
        self.report.clear()
        self.busy.hide()


def _scroll(widget: QWidget, name: str) -> QScrollArea:
    """`widget` filling the area while there is room, scrolling below its minimum size."""
    area = QScrollArea(objectName=name, widgetResizable=True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area
