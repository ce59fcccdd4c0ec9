"""Ensemble… in the Runs tab: why selected runs cannot be combined (said before any model is
read), and the dialog that asks for the method and the ensemble's folder."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from tlstudio.ensemble import METHODS, build_ensemble, class_mismatch
from tlstudio.gui.shared.background import TaskState
from tlstudio.gui.sidebar.recipe_form import new_run_dir
from tlstudio.runs import RunSummary
from tlstudio.runs.listing import RUNNING

METHOD_HELP = {
    "average": "the mean of the members' probabilities",
    "weighted": "a weighted mean, weights chosen on the validation predictions",
    "stacking": "a small logistic regression on the members' probabilities",
}
READY = "Combine the selected runs into one model (an ensemble run folder)"


def ensemble_refusal(runs: Sequence[RunSummary]) -> str | None:
    """Why these runs cannot be combined, in a user's words; None when they can be tried."""
    if len(runs) < 2:
        return "Select two or more runs to combine (Ctrl+click or Shift+click in the list)"
    for run in runs:
        if run.status == RUNNING:
            return f"{run.name} is still training: combine it once it has finished"
        if not run.classes:
            return f"{run.name} has no trained model to combine"
        if run.strategy.startswith("ensemble"):  # as the core says, before a folder is made
            return f"{run.name} is itself an ensemble: combine its members instead"
    return class_mismatch([(run.name, run.classes) for run in runs])


def build_ensemble_job(state: TaskState, run_dirs: list[str], method: str, out: str) -> str:
    """The background job: the core's ensemble build; returns the ensemble's folder."""
    build_ensemble(run_dirs, method, out)
    return out


class EnsembleDialog(QDialog):
    """The method (average, weighted, stacking) and the folder for the ensemble."""

    def __init__(
        self, runs: Sequence[RunSummary], runs_dir: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent, objectName="ensembleDialog")
        self.setWindowTitle("Combine runs into an ensemble")
        self.method = QComboBox(objectName="ensembleMethod")
        for method in METHODS:
            self.method.addItem(f"{method}: {METHOD_HELP.get(method, '')}", method)
        self.out = QLineEdit(new_run_dir(runs_dir, "ensemble"), objectName="ensembleOutEdit")
        self.out.setMinimumWidth(420)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Combine")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(QLabel("Members: " + ", ".join(run.name for run in runs)))
        form.addRow("Method", self.method)
        form.addRow("Ensemble folder", out_row)
        form.addRow(self.buttons)

    def chosen_method(self) -> str:
        return self.method.currentData()

    def out_dir(self) -> str:
        return self.out.text().strip()

    def _accept(self) -> None:
        if self.out_dir():
            self.accept()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the ensemble", self.out_dir())
        if path:
            self.out.setText(path)
