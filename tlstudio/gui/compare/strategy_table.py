"""The comparison's live table: a row per strategy and backbone, filled in fold by fold from
the engine's FoldEnded, then set to compare.json's rows with the winner marked."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from tlstudio.gui.shared.palette_colours import message_colours
from tlstudio.training import fold_summary

HEADERS = ("Strategy", "Backbone", "Folds", "Accuracy", "Macro-F1", "Seconds")
WINNER_MARK = "★ "


class StrategyTable(QTableWidget):
    """`strategyTable`: `add_fold` while the comparison runs, `show_result` at its end."""

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(HEADERS), parent, objectName="strategyTable")
        self.setHorizontalHeaderLabels(HEADERS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setAccessibleName("Strategies compared")
        self.folds = 1  # folds per strategy, for the Folds column
        self.scores: dict[tuple[str, str], list[dict[str, float]]] = {}
        self.winner_row: int | None = None

    def start(self, folds: int) -> None:
        self.folds, self.scores, self.winner_row = max(folds, 1), {}, None
        self.setRowCount(0)

    def add_fold(self, event: Any) -> None:
        """A strategy's fold ended: its row (added on its first fold) shows the mean so far."""
        key = (event.strategy, event.backbone)
        scores = self.scores.setdefault(key, [])
        scores.append(
            {"accuracy": event.accuracy, "macro_f1": event.macro_f1, "seconds": event.seconds}
        )
        row = list(self.scores).index(key)
        if row == self.rowCount():
            self.insertRow(row)
        summary = fold_summary(scores)
        self._fill(
            row,
            {
                "strategy": key[0],
                "backbone": key[1],
                **summary,
                "seconds": sum(s["seconds"] for s in scores),
            },
            f"{len(scores)} of {self.folds}",
        )

    def show_result(self, result: dict[str, Any]) -> None:
        """compare.json's rows, as the comparison wrote them, the best one marked."""
        rows, best = result["strategies"], result.get("best")
        self.setRowCount(len(rows))
        self.winner_row = None
        for i, row in enumerate(rows):
            self._fill(i, row, f"{len(row['folds'])} of {result.get('folds', self.folds)}")
            if best and (row["strategy"], row["backbone"]) == (best["strategy"], best["backbone"]):
                self._mark_winner(i)
        self.setCurrentItem(None)  # no focus frame on a cell: the winner's row stands out

    def _fill(self, row: int, values: dict[str, Any], folds: str) -> None:
        cells = (
            values["strategy"],
            values["backbone"],
            folds,
            f"{values['accuracy_mean']:.1%} ± {values['accuracy_std']:.1%}",
            f"{values['macro_f1_mean']:.3f} ± {values['macro_f1_std']:.3f}",
            f"{values['seconds']:.1f}",
        )
        for column, text in enumerate(cells):
            self.setItem(row, column, QTableWidgetItem(text))

    def _mark_winner(self, row: int) -> None:
        self.winner_row = row
        colours = message_colours("info")
        for column in range(self.columnCount()):
            item = self.item(row, column)
            font = QFont(item.font())
            font.setBold(True)
            item.setFont(font)
            item.setBackground(QBrush(QColor(colours.background)))
            item.setForeground(QBrush(QColor(colours.text)))
            item.setToolTip("The best mean accuracy over the folds")
        first = self.item(row, 0)
        first.setText(WINNER_MARK + first.text())

    def cell_text(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return item.text() if item else ""
