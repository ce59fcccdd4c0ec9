"""The runs list's table model over the core's `RunSummary` values, and how a run reads in a
line of text (File > Runs)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from tlstudio.gui.shared.palette_colours import dimmed_text
from tlstudio.runs import RunSummary
from tlstudio.runs.listing import RUNNING, STOPPED

COLUMNS = ("Run", "Date", "Backbone", "Strategy", "Best val accuracy", "Time", "Status")
STATUS_TIPS = {
    RUNNING: "Training now: its numbers grow as epochs end",
    STOPPED: "Ended before its last epoch: stopped, failed or its process was killed",
}
Index = QModelIndex | QPersistentModelIndex


def accuracy_text(accuracy: float | None) -> str:
    return "—" if accuracy is None else f"{accuracy:.1%}"


def seconds_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def status_text(run: RunSummary) -> str:
    return {RUNNING: "● running", STOPPED: "stopped"}.get(run.status, run.status)


def menu_text(run: RunSummary) -> str:
    """File > Runs: 'name · 2 epochs · 91.0%', and what is unusual about it."""
    parts = [run.name]
    if run.epochs:
        parts.append(f"{run.epochs} epoch{'s' if run.epochs != 1 else ''}")
    elif run.status != RUNNING:
        parts.append(run.strategy)
    if run.best_val_accuracy is not None:
        parts.append(accuracy_text(run.best_val_accuracy))
    if run.status != "finished":
        parts.append(status_text(run))
    return " · ".join(parts)


def cells(run: RunSummary) -> tuple[str, ...]:
    return (
        run.name,
        run.date.strftime("%Y-%m-%d %H:%M"),
        run.backbone,
        run.strategy,
        accuracy_text(run.best_val_accuracy),
        seconds_text(run.seconds),
        status_text(run),
    )


class RunsTableModel(QAbstractTableModel):
    """One row per run, newest first (the core's order); the current run's row is bold."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.runs: list[RunSummary] = []
        self.current: str | None = None

    def set_runs(self, runs: list[RunSummary]) -> None:
        self.beginResetModel()
        self.runs = list(runs)
        self.endResetModel()

    def set_current(self, path: str | None) -> None:
        self.current = str(Path(path)) if path else None
        if self.runs:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.runs) - 1, 0))

    def row_of(self, path: str) -> int | None:
        target = Path(path)
        return next((i for i, r in enumerate(self.runs) if r.path == target), None)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        run, column = self.runs[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return cells(run)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return STATUS_TIPS.get(run.status, str(run.path)) if column == 6 else str(run.path)
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            current = column == 0 and str(run.path) == self.current
            font.setBold(current or column == 6 and run.status == RUNNING)
            font.setItalic(run.status == STOPPED)  # and dimmed below
            return font
        if role == Qt.ItemDataRole.ForegroundRole and run.status == STOPPED:
            return dimmed_text()
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (4, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
