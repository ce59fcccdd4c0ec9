"""The "Compare strategies" dialog: choose, run in the background (the training worker's
thread, the core's `compare` as its engine), watch the table fill, act on the winner.

The dialog is modeless: closing it hides it and the comparison goes on; the window's close
stops it (`shutdown`).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tlstudio.comparison import compare, parse_strategies
from tlstudio.errors import TlstudioError
from tlstudio.failures import FrontEnd, describe_failure
from tlstudio.gui.compare.compare_options import CompareChoice, CompareOptions
from tlstudio.gui.compare.strategy_table import StrategyTable
from tlstudio.gui.compare.winner import Winner
from tlstudio.gui.shared.palette_colours import message_colours
from tlstudio.gui.training.worker import TrainingController
from tlstudio.recipe import Recipe


@dataclass(frozen=True)
class CompareSource:
    """What the dialog asks the window for, when it needs it."""

    recipe: Callable[[str], Recipe]  # the sidebar's recipe into this folder (RecipeError)
    not_ready: Callable[[], str | None]  # why nothing can train now, or None
    backbone: Callable[[], str]  # the sidebar's backbone
    new_folder: Callable[[str], str]  # a fresh folder under the runs folder, named so


class CompareDialog(QDialog):
    """`compareDialog`; the winner's actions are requests the window carries out."""

    openRequested = Signal(str)  # a run folder to make the current run
    exportRequested = Signal(str)  # a run folder to export
    trainRequested = Signal(object)  # a Recipe to train as an ordinary run
    comparisonFinished = Signal(object)  # core Comparison, or None after a failure

    def __init__(self, source: CompareSource, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="compareDialog")
        self.setWindowTitle("Compare strategies")
        self.resize(860, 720)
        self.source = source
        self.controller: TrainingController | None = None
        self.winner: Winner | None = None
        self._done = self._total = 0
        self.options = CompareOptions(source.backbone(), source.new_folder("compare"))
        self.run_button = QPushButton("Run comparison", objectName="compareRunButton")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", objectName="compareCancelButton")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip("Stop after the current batch; what finished is kept")
        self.progress = QProgressBar(objectName="compareProgress", minimum=0, maximum=1)
        self.progress.setFormat("Ready")
        self.progress.setValue(0)
        self.message = QLabel(objectName="compareMessage", wordWrap=True, visible=False)
        self.table = StrategyTable()
        self.verdict = QLabel(objectName="compareVerdict", wordWrap=True)
        self.open_button = QPushButton("Open", objectName="openWinnerButton")
        self.export_button = QPushButton("Export…", objectName="exportWinnerButton")
        self.train_button = QPushButton("Train on all data", objectName="trainWinnerButton")
        self.winner_note = QLabel(objectName="winnerNote", wordWrap=True)
        self._build_layout()
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self._open_winner)
        self.export_button.clicked.connect(self._export_winner)
        self.train_button.clicked.connect(self._train_winner)
        self._show_winner(None)

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        winner = QHBoxLayout()
        winner.addWidget(QLabel("Winner:"))
        for button in (self.open_button, self.export_button, self.train_button):
            winner.addWidget(button)
        winner.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.options)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.verdict)
        layout.addLayout(winner)
        layout.addWidget(self.winner_note)

    # ---- running --------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.controller is not None and self.controller.is_running()

    def run(self) -> bool:
        """Start the comparison the options say; False (with a message) if it cannot."""
        if self.is_running():
            return False
        self.message.hide()
        choice, problem = self.options.choice()
        problem = problem or self.source.not_ready()
        if problem:
            self.show_message(problem)
            return False
        try:
            recipe = self.source.recipe(choice.out_dir).replace(folds=choice.folds)
            strategies = parse_strategies(",".join(choice.strategies))
        except TlstudioError as e:
            self.show_message(describe_failure(e, FrontEnd.WINDOW))
            return False
        self._start(recipe, choice, strategies)
        return True

    def _start(self, recipe: Recipe, choice: CompareChoice, strategies: tuple[str, ...]) -> None:
        engine = partial(
            compare,
            backbones=list(choice.backbones),
            strategies=strategies,
            budget_minutes=choice.budget_minutes,
        )
        if self.controller is not None:
            self.controller.deleteLater()
        self.controller = controller = TrainingController(self, fit_fn=engine)
        controller.foldEnded.connect(self._on_fold)
        controller.failed.connect(self.show_message)
        controller.finished.connect(self._on_finished)
        self._done, self._total = 0, len(strategies) * len(choice.backbones) * (choice.folds or 1)
        self.table.start(choice.folds or 1)
        self.verdict.clear()
        self._show_winner(None)
        self._set_running(True)
        self.progress.setRange(0, self._total)
        self.progress.setValue(0)
        self.progress.setFormat(f"0 of {self._total} strategy folds")
        controller.start(recipe)

    def cancel(self) -> None:
        """Stop the comparison after the current batch; its finished folds are kept."""
        if self.is_running():
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("Stopping after the current batch…")
            self.controller.stop()

    def shutdown(self) -> None:
        """Stop and join the comparison's thread (the window closes)."""
        if self.controller is not None:
            self.controller.shutdown()

    def _on_fold(self, event: object) -> None:
        self.table.add_fold(event)
        self._done += 1
        self.progress.setValue(min(self._done, self._total))
        self.progress.setFormat(
            f"{self._done} of {self._total} strategy folds · last: "
            f"{event.strategy} ({event.backbone}) fold {event.fold}"
        )

    def _on_finished(self, result: object) -> None:
        self._set_running(False)
        self.progress.setValue(
            self._total if result is not None and not result.stopped else self._done
        )
        if result is None:  # failed: `failed` said why
            self.progress.setFormat("Failed")
            self.comparisonFinished.emit(None)
            return
        self.progress.setFormat(
            "Stopped: the table has what finished" if result.stopped else "Finished"
        )
        self.table.show_result(result.result)
        self.verdict.setText(
            "<br>".join(html.escape(line) for line in result.lines)
            + f"<br>Saved in {html.escape(result.path)}"
        )
        self._show_winner(Winner.of(result.path, result.result.get("best")))
        self.options.out_edit.setText(self.source.new_folder("compare"))  # the next run's
        self.comparisonFinished.emit(result)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.options.setEnabled(not running)

    def show_message(self, text: str) -> None:
        self.message.setStyleSheet(f"QLabel {{ {message_colours('error').style(6)} }}")
        self.message.setText(text)
        self.message.show()

    # ---- the winner -----------------------------------------------------------------------

    def _show_winner(self, winner: Winner | None) -> None:
        self.winner = winner
        has_model = winner is not None and winner.model_run is not None
        self.open_button.setEnabled(has_model)
        self.export_button.setEnabled(has_model)
        self.train_button.setEnabled(winner is not None)
        self.winner_note.setText(winner_note(winner))

    def _open_winner(self) -> None:
        if self.winner and self.winner.model_run:
            self.openRequested.emit(self.winner.model_run)

    def _export_winner(self) -> None:
        if self.winner and self.winner.model_run:
            self.exportRequested.emit(self.winner.model_run)

    def _train_winner(self) -> None:
        if self.winner is None:
            return
        try:
            recipe = self.winner.recipe(self.source.new_folder(self.winner.backbone))
        except TlstudioError as e:
            self.show_message(describe_failure(e, FrontEnd.WINDOW))
            return
        self.trainRequested.emit(recipe)


def winner_note(winner: Winner | None) -> str:
    """What the winner's buttons use, in words."""
    if winner is None:
        return "The winner's actions appear when a comparison has finished."
    name = f"{winner.strategy} ({winner.backbone})"
    if winner.model_run is None:
        model = f"{name} saved no model to open or export."
    elif winner.folds > 1:
        model = (
            f"Open and Export use {name}'s model of fold {winner.fold} of {winner.folds}, "
            "the best on its held-out images (each fold's model trained on the other "
            "folds' images)."
        )
    else:
        model = f"Open and Export use {name}'s model, trained on the training split."
    return (
        f"{model} Train on all data trains {name} once with the comparison's settings on "
        "every image (the training and validation folders, nothing held out), so you can "
        "watch it and export it. No image is left to measure its accuracy: the comparison's "
        "cross-validated accuracy above is its estimate."
    )
