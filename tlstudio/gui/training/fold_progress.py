"""The Training tab's cross-validation view: which fold is training, each finished fold's
accuracy and macro-F1 (from the engine's FoldEnded), and their mean ± std once all are done."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tlstudio.training import fold_summary

HEADERS = ("Fold", "Accuracy", "Macro-F1", "Seconds")


def mean_std_text(summary: dict[str, float]) -> str:
    return (
        f"accuracy {summary['accuracy_mean']:.1%} ± {summary['accuracy_std']:.1%}, "
        f"macro-F1 {summary['macro_f1_mean']:.3f} ± {summary['macro_f1_std']:.3f}"
    )


class FoldProgress(QWidget):
    """`foldProgress`: hidden unless the run cross-validates (the recipe's folds > 1)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="foldProgress")
        self.folds = 0
        self.scores: list[dict[str, float]] = []
        self.label = QLabel(objectName="foldLabel")
        self.table = QTableWidget(0, len(HEADERS), objectName="foldTable")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName("Cross-validation folds")
        rows = self.table.verticalHeader()
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + 6)  # compact: ~5 show
        self.table.setMinimumHeight(
            self.table.horizontalHeader().sizeHint().height() + 4 * rows.defaultSectionSize() + 4
        )
        self.table.setMaximumHeight(self.table.minimumHeight() + rows.defaultSectionSize())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.table)
        self.hide()

    def on_run_started(self, recipe: object) -> None:
        """A run starts: shown, empty, for a cross-validation; hidden otherwise."""
        self.folds = int(getattr(recipe, "folds", None) or 0)
        self.scores = []
        self.table.setRowCount(0)
        self.setVisible(self.folds > 1)
        self._say_running(1)

    def on_fold(self, event: object) -> None:
        """A fold ended: its row, then the next fold's label or the mean ± std."""
        if not self.folds:
            return
        score = {"accuracy": event.accuracy, "macro_f1": event.macro_f1}
        self.scores.append(score)
        row = self.table.rowCount()
        self.table.insertRow(row)
        cells = (
            f"{event.fold} of {event.folds}",
            f"{event.accuracy:.1%}",
            f"{event.macro_f1:.3f}",
            f"{event.seconds:.1f}",
        )
        for column, text in enumerate(cells):
            self.table.setItem(row, column, QTableWidgetItem(text))
        if event.fold < event.folds:
            self._say_running(event.fold + 1)
        else:
            self.label.setText(
                f"<b>{event.folds} folds:</b> {mean_std_text(fold_summary(self.scores))}"
            )

    def on_finished(self, result: object) -> None:
        """A run that stopped before its last fold says what it has."""
        if self.folds and len(self.scores) < self.folds and self.isVisible():
            done = len(self.scores)
            summary = f": {mean_std_text(fold_summary(self.scores))}" if done else ""
            self.label.setText(f"Stopped after {done} of {self.folds} folds{summary}")

    def _say_running(self, fold: int) -> None:
        self.label.setText(f"Cross-validation: fold {fold} of {self.folds} is training")
