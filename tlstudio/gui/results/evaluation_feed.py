"""Keeps the inspection views current while a run trains: after each epoch (the engine has
stored that epoch's validation predictions) and at the end, the run's evaluation is loaded off
the GUI thread and handed out with `evaluated`: the latest epoch's while training, the saved
model's epoch once the run has one (what moves, Grad-CAM and exports are about).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from tlstudio.evaluation import epoch_evaluation
from tlstudio.evaluation.epochs import model_epoch, stored_epochs
from tlstudio.gui.shared.background import BackgroundJob, TaskState, error_message


def evaluation_job(state: TaskState, run_dir: str):
    epochs = stored_epochs(run_dir)
    epoch = model_epoch(run_dir, epochs[-1]) if epochs else None  # None: the core explains
    return run_dir, epoch_evaluation(run_dir, epoch)


class EvaluationFeed(QObject):
    """One load at a time; epochs that end during a load collapse into one more load."""

    evaluated = Signal(str, object)  # run folder, RunEvaluation of its last stored epoch
    failed = Signal(str, str)  # run folder, what went wrong

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job = BackgroundJob(self)
        self._job.returned.connect(self._on_loaded)
        self._job.errored.connect(self._on_failed)
        self._job.finished.connect(self._on_done)
        self._run_dir: str | None = None  # the run being trained
        self._again: str | None = None  # a run folder to load once the current load is done
        self._loading: str = ""  # the run folder of the load in flight

    def follow(self, controller) -> None:
        """Load after every epoch and at the end of the TrainingController's runs."""
        controller.fitStarted.connect(self._on_fit_started)
        controller.epochEnded.connect(self._on_epoch)
        controller.finished.connect(self._on_finished)

    def load(self, run_dir: str) -> None:
        if self._job.is_running():
            self._again = run_dir
            return
        self._loading = run_dir
        self._job.start(evaluation_job, run_dir)

    def busy(self) -> bool:
        return self._job.is_running() or self._again is not None

    def cancel(self) -> None:
        self._again = None
        self._job.cancel()

    def _on_fit_started(self, event) -> None:
        self._run_dir = event.run_dir

    def _on_epoch(self, _event) -> None:
        if self._run_dir is not None:
            self.load(self._run_dir)

    def _on_finished(self, result) -> None:
        if result is not None and result.epochs:
            self.load(result.run_dir)  # the kept model may be an earlier, better epoch's
        self._run_dir = None

    def _on_loaded(self, item) -> None:
        self.evaluated.emit(*item)

    def _on_failed(self, error: Exception) -> None:
        self.failed.emit(self._loading, error_message(error))

    def _on_done(self) -> None:
        if self._again is not None:
            run_dir, self._again = self._again, None
            self.load(run_dir)
