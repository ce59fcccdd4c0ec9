"""The Runs tab: the runs folder's runs (`runsList`), listed by the core in a background job;
Open makes one the current run, Compare runs shows several side by side, Ensemble… combines
them. Reading runs and building ensembles never happens on the GUI thread."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from tlstudio.errors import TlstudioError
from tlstudio.evaluation import compare_runs
from tlstudio.gui.runs.comparison_view import RunsComparisonView
from tlstudio.gui.runs.ensemble_dialog import (
    READY,
    EnsembleDialog,
    build_ensemble_job,
    ensemble_refusal,
)
from tlstudio.gui.runs.runs_table import RunsTableModel
from tlstudio.gui.shared.background import BackgroundJob, TaskState, error_message
from tlstudio.runs import RunSummary, list_runs

HINT = "Select two or more runs (Ctrl+click, Shift+click) to compare or combine them."


def list_runs_job(state: TaskState, runs_dir: str) -> list[RunSummary]:
    """The runs folder's runs; a folder not made yet holds none."""
    root = Path(runs_dir).expanduser()
    if root.exists() and not root.is_dir():
        raise TlstudioError(f"The runs folder '{root}' is a file, not a folder: choose a "
                            "folder in 'Save runs in'")
    return list_runs(root) if root.is_dir() else []


def compare_runs_job(state: TaskState, run_dirs: list[str]):
    return compare_runs(run_dirs)


class RunsView(QWidget):
    """What the window hears: `openRequested` (a run folder to make current), `failed` and
    `info` (messages for the banner), `listed` (the list was refreshed)."""

    openRequested = Signal(str)
    failed = Signal(str)
    info = Signal(str)
    listed = Signal()
    compared = Signal(object)  # the RunsComparison now on screen
    ensembleBuilt = Signal(str)  # the new ensemble's run folder

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="runsView")
        self.runs_dir = ""
        self.training = False
        self.stale = True  # the list may be out of date: it is listed when next seen
        self.select_after_listing: str | None = None  # a new ensemble to select once listed
        self.model = RunsTableModel(self)
        self.table = QTableView(objectName="runsList")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setAccessibleName("Runs")
        self.table.setAccessibleDescription("The runs in the runs folder, newest first")

        self.refresh_button = QPushButton("Refresh", objectName="refreshRunsButton")
        self.refresh_button.setToolTip("Read the runs folder again (runs made by another "
                                       "window or by the command line appear)")
        self.open_button = QPushButton("Open", objectName="openRunButton")
        self.compare_button = QPushButton("Compare runs", objectName="compareRunsButton")
        self.ensemble_button = QPushButton("Ensemble…", objectName="ensembleButton")
        self.hint = QLabel(HINT, objectName="runsHint")
        self.hint.setWordWrap(True)
        self.comparison = RunsComparisonView()
        self.comparison.hide()
        self.ensemble_dialog: EnsembleDialog | None = None

        buttons = QHBoxLayout()
        for button in (
            self.refresh_button,
            self.open_button,
            self.compare_button,
            self.ensemble_button,
        ):
            buttons.addWidget(button)
        buttons.addWidget(self.hint, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.comparison)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([170, 600])  # a few rows of runs; the comparison gets the room
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)

        self._listing = BackgroundJob(self)
        self._listing.returned.connect(self._on_listed)
        self._listing.errored.connect(self._on_listing_failed)
        self._comparing = BackgroundJob(self)
        self._comparing.returned.connect(self._on_compared)
        self._comparing.errored.connect(self._on_failed)
        self._ensembling = BackgroundJob(self)
        self._ensembling.returned.connect(self._on_ensemble_built)
        self._ensembling.errored.connect(self._on_failed)
        for job in (self._comparing, self._ensembling):
            job.finished.connect(self._update_buttons)

        self.refresh_button.clicked.connect(self.refresh)
        self.open_button.clicked.connect(self.open_selected)
        self.compare_button.clicked.connect(self.compare_selected)
        self.ensemble_button.clicked.connect(self.ask_ensemble)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self._update_buttons()

    # ---- the list ----------------------------------------------------------------------------

    def set_runs_dir(self, runs_dir: str) -> None:
        if runs_dir != self.runs_dir:
            self.runs_dir = runs_dir
            self.refresh_when_seen()

    def set_training(self, training: bool) -> None:
        """Opening a run waits while one trains (as File > Runs does); its end is listed."""
        self.training = training
        self._update_buttons()
        self.refresh_when_seen()

    def refresh_when_seen(self) -> None:
        """List now if the tab shows, else when it is next shown (no reading for nobody)."""
        if self.isVisible():
            self.refresh()
        else:
            self.stale = True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.stale:
            self.refresh()

    def set_current(self, path: str) -> None:
        self.model.set_current(path or None)

    def refresh(self) -> None:
        self.stale = False
        if self.runs_dir:
            self._listing.start(list_runs_job, self.runs_dir)

    def _on_listed(self, runs: list[RunSummary]) -> None:
        chosen = [str(r.path) for r in self.selected()]
        if self.select_after_listing:
            chosen, self.select_after_listing = [self.select_after_listing], None
        self.model.set_runs(runs)
        self._select(chosen)
        self._update_buttons()
        self.listed.emit()

    def selected(self) -> list[RunSummary]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.model.runs[row] for row in rows if row < len(self.model.runs)]

    def _select(self, paths: list[str]) -> None:
        selection = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for path in paths:
            row = self.model.row_of(path)
            if row is not None:
                selection.select(self.model.index(row, 0), flags)

    def _update_buttons(self) -> None:
        chosen = self.selected()
        self.open_button.setEnabled(len(chosen) == 1 and not self.training)
        self.open_button.setToolTip(
            "Opening a run waits until the training has ended"
            if self.training
            else "Make the selected run the current run of every tab (or double-click it)"
        )
        comparable = len(chosen) >= 2 and not self._comparing.is_running()
        self.compare_button.setEnabled(comparable)
        self.compare_button.setToolTip(
            "Overlaid curves, metrics and recipe differences of the selected runs"
            if comparable
            else "Select two or more runs to compare"
        )
        refusal = ensemble_refusal(chosen)
        self.ensemble_button.setEnabled(not self._ensembling.is_running())
        self.ensemble_button.setToolTip(refusal or READY)

    # ---- open, compare, combine --------------------------------------------------------

    def open_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) == 1 and not self.training:
            self.openRequested.emit(str(chosen[0].path))

    def compare_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) >= 2:
            self._comparing.start(compare_runs_job, [str(r.path) for r in chosen])
            self._update_buttons()

    def _on_compared(self, comparison) -> None:
        self.comparison.show_comparison(comparison)
        self.comparison.show()
        self.compared.emit(comparison)

    def ask_ensemble(self) -> None:
        """Ensemble…: say why not, or ask for the method and folder, then build in the
        background."""
        chosen = self.selected()
        refusal = ensemble_refusal(chosen)
        if refusal:
            self.failed.emit(refusal)
            return
        if self.ensemble_dialog is not None:
            self.ensemble_dialog.deleteLater()  # the last one asked about other runs
        self.ensemble_dialog = dialog = EnsembleDialog(chosen, self.runs_dir, self)
        dialog.accepted.connect(lambda: self._start_ensemble(chosen, dialog))
        dialog.open()  # window-modal, without blocking the event loop

    def _start_ensemble(self, members: list[RunSummary], dialog: EnsembleDialog) -> None:
        self._ensembling.start(
            build_ensemble_job,
            [str(r.path) for r in members],
            dialog.chosen_method(),
            dialog.out_dir(),
        )
        self.info.emit(f"Combining {len(members)} runs into {dialog.out_dir()}…")
        self._update_buttons()

    def _on_ensemble_built(self, out: str) -> None:
        self.select_after_listing = os.path.abspath(out)
        self.info.emit(f"Ensemble written to {out}: select it and Open, or double-click it")
        self.ensembleBuilt.emit(out)
        self.refresh()

    def _on_listing_failed(self, error: BaseException) -> None:
        self.model.set_runs([])  # not the last folder's runs under this folder's name
        self._update_buttons()
        self._on_failed(error)

    def _on_failed(self, error: BaseException) -> None:
        self.failed.emit(error_message(error))

    def cancel(self) -> None:
        for job in (self._listing, self._comparing):
            job.cancel()  # an ensemble being written is left to finish: its folder stays whole
