"""The Results tab's background jobs: plain functions taking a TaskState (Orange's rule), so
they are tested without a widget. Evaluating with the model reports progress and stops when
cancelled; an epoch's results come from the stored predictions, without the model.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tlstudio.data import SkippedFile
from tlstudio.errors import EvaluationCancelled
from tlstudio.evaluation import (
    RunEvaluation,
    ShownResults,
    epoch_evaluation,
    evaluate_run,
    stored_epochs,
)
from tlstudio.evaluation.epochs import model_epoch
from tlstudio.evaluation.report import write_report
from tlstudio.gui.shared.background import TaskState
from tlstudio.inference import Prediction, Predictor, load_predictor
from tlstudio.runs import RunFolder

CHUNK = 32  # images predicted between two progress reports / cancel checks




def run_folder_problem(path: str | os.PathLike[str]) -> str | None:
    """Why `path` cannot be opened as a run, in words, or None if it looks like one."""
    folder = Path(path)
    if not folder.is_dir():
        return f"'{path}' is not a folder."
    run = RunFolder(folder)
    if not run.looks_like_run():
        info, metrics = run.model_info.name, run.metrics.name
        return (f"'{folder}' is not a tlstudio run folder: it has no trained model "
                f"({info}) and no stored validation results. Choose a folder that a "
                f"training run wrote; it holds {info} and {metrics}.")
    return None


def has_model(run_dir: str | os.PathLike[str]) -> bool:
    run = RunFolder.at(run_dir)
    return run.model_info.is_file() and run.has_model()


class ProgressPredictor:
    """A Predictor that predicts in chunks: progress after each, cancel checked before each."""

    def __init__(self, predictor: Predictor, state: TaskState) -> None:
        self._predictor, self._state = predictor, state
        self.classes = predictor.classes

    def predict_paths(self, paths: Sequence[str], top_k: int = 5, batch_size: int = 32
                      ) -> tuple[list[Prediction], list[SkippedFile]]:
        predictions: list[Prediction] = []
        skipped: list[SkippedFile] = []
        self._state.progress(0, len(paths))
        for start in range(0, len(paths), CHUNK):
            if self._state.cancelled():
                raise EvaluationCancelled("Evaluation cancelled")
            done, failed = self._predictor.predict_paths(paths[start:start + CHUNK], top_k,
                                                         batch_size)
            predictions += done
            skipped += failed
            self._state.progress(min(start + CHUNK, len(paths)), len(paths))
        return predictions, skipped


def epoch_job(state: TaskState, run_dir: str, epoch: int) -> ShownResults:
    """One epoch's results from the predictions stored while training."""
    return ShownResults(epoch_evaluation(run_dir, epoch), epoch, epoch)


def open_run_job(state: TaskState, run_dir: str) -> ShownResults:
    """A run's stored epoch of its saved model (the best epoch's with "Keep the best epoch's
    model", else the last); for a run that stored none, its model on its validation images."""
    epochs = stored_epochs(run_dir)
    if epochs:
        saved = model_epoch(run_dir, epochs[-1])
        saved = saved if saved in epochs else epochs[-1]
        return ShownResults(epoch_evaluation(run_dir, saved), saved, epochs[-1], saved)
    return model_job(state, run_dir, None)


def model_job(state: TaskState, run_dir: str, data_dir: str | None) -> ShownResults:
    """The run's model on `data_dir` (a labelled folder) or on its validation images."""
    predictor = ProgressPredictor(load_predictor(run_dir), state)
    evaluation = evaluate_run(run_dir, data_dir, predictor=predictor)  # type: ignore[arg-type]
    return ShownResults(evaluation, None, 0)


def report_job(state: TaskState, run_dir: str, out: str, data_dir: str | None,
               evaluation: RunEvaluation | None) -> str:
    """Write the HTML report; `evaluation` saves running the model again when known."""
    return str(write_report(run_dir, out, data_dir=data_dir, evaluation=evaluation))
