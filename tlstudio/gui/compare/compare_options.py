"""What a comparison runs, as the dialog asks it: strategies, backbones, folds, a time budget
and the output folder. Everything else (data, epochs, image size, device, ...) is the sidebar's."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QWidget,
)

from tlstudio.comparison import STRATEGIES
from tlstudio.models import backbone_names

STRATEGY_TEXT = {
    "logreg": "Logistic regression on frozen features",
    "svm": "Linear SVM on frozen features",
    "knn": "k-nearest neighbours on frozen features",
    "head": "Trained linear head (backbone frozen)",
    "last-stage": "Fine-tune the last stage",
    "last-two": "Fine-tune the last two stages",
    "full": "Fine-tune everything",
    "two-phase": "Head first, then everything",
    "scratch": "Same network from random weights (does pretraining help?)",
}
# Cheap and telling: a linear probe, the trained head, a partial and a full fine-tune, and
# the random-weights check.
DEFAULT_STRATEGIES = ("logreg", "head", "last-stage", "full", "scratch")
DEFAULT_FOLDS = 3


@dataclass(frozen=True)
class CompareChoice:
    strategies: tuple[str, ...]
    backbones: tuple[str, ...]
    folds: int | None  # None: the sidebar's one validation split
    budget_minutes: float | None  # None: no limit
    out_dir: str


class CompareOptions(QWidget):
    """The dialog's upper half; `choice()` reads it (None and a message when incomplete)."""

    def __init__(self, backbone: str, out_dir: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="compareOptions")
        self.strategy_boxes: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for i, name in enumerate(STRATEGIES):
            box = QCheckBox(name, objectName=f"strategy-{name}")
            box.setToolTip(STRATEGY_TEXT[name])
            box.setChecked(name in DEFAULT_STRATEGIES)
            self.strategy_boxes[name] = box
            grid.addWidget(box, i // 3, i % 3)
        self.backbones = QListWidget(objectName="compareBackbones")
        self.backbones.setMaximumHeight(110)
        self.backbones.setAccessibleName("Backbones to compare")
        self.set_backbone(backbone)
        self.folds = QSpinBox(objectName="compareFolds", minimum=1, maximum=20)
        self.folds.setSpecialValueText("off: the sidebar's validation images")
        self.folds.setValue(DEFAULT_FOLDS)
        self.folds.setToolTip("Stratified folds: every strategy trains on the same ones")
        self.budget = QDoubleSpinBox(
            objectName="compareBudget", minimum=0, maximum=24 * 60, decimals=1, suffix=" min"
        )
        self.budget.setSpecialValueText("no limit")
        self.budget.setToolTip(
            "Stops starting folds and epochs that would not fit, and says what it skipped"
        )
        self.out_edit = QLineEdit(out_dir, objectName="compareOutEdit")
        browse = QPushButton("Browse…", objectName="compareOutBrowse")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("Strategies", grid)
        form.addRow("Backbones", self.backbones)
        form.addRow("Folds", self.folds)
        form.addRow("Time budget", self.budget)
        form.addRow("Output folder", out_row)

    def set_backbone(self, current: str) -> None:
        """The curated backbones, `current` (the sidebar's) checked."""
        self.backbones.clear()
        names = list(backbone_names())
        if current not in names:
            names.insert(0, current)  # a timm model the user added
        for name in names:
            item = QListWidgetItem(name, self.backbones)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if name == current else Qt.CheckState.Unchecked
            )

    def choice(self) -> tuple[CompareChoice | None, str | None]:
        strategies = tuple(n for n, box in self.strategy_boxes.items() if box.isChecked())
        backbones = tuple(
            self.backbones.item(i).text()
            for i in range(self.backbones.count())
            if self.backbones.item(i).checkState() == Qt.CheckState.Checked
        )
        out_dir = self.out_edit.text().strip()
        if not strategies:
            return None, "Choose at least one strategy to compare."
        if not backbones:
            return None, "Choose at least one backbone."
        if not out_dir:
            return None, "Choose the folder the comparison writes to."
        folds = self.folds.value() if self.folds.value() > 1 else None
        budget = self.budget.value() or None
        return CompareChoice(strategies, backbones, folds, budget, out_dir), None

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Comparison folder", self.out_edit.text())
        if path:
            self.out_edit.setText(path)
