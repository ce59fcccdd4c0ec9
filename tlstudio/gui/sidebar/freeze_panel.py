"""Step 3, the layers to train: one checkable row per stage; checked stages are exactly what trains.

Stage sizes come from the core's `preview_stages` (built on the meta device, no weights).
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QButtonGroup,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tlstudio.models import HEAD_STAGE, StageInfo
from tlstudio.models.freezing import preview_stages

PRESETS = {  # button text -> how many backbone stages (from the end) train; -1 means all
    "Head only": 0,
    "Last stage": 1,
    "Last two": 2,
    "Everything": -1,
}
PRESET_TIPS = {
    "Head only": "Train only the new classifier: fastest, best with few images",
    "Last stage": "Also fine-tune the last backbone stage",
    "Last two": "Also fine-tune the last two backbone stages",
    "Everything": "Fine-tune the whole backbone: slowest, needs many images",
}


@cache
def stage_meaning(index: int, count: int, name: str) -> str:
    """A plain description of the `index`-th of `count` backbone stages, for its tooltip."""
    if name == HEAD_STAGE:
        return ("The new classifier: it maps the backbone's features to your classes and "
                "always trains")
    place = index / max(1, count - 1)
    if place < 0.34:
        what = "early layers: edges, colours and textures, useful for almost any images"
    elif place < 0.67:
        what = "middle layers: patterns and simple shapes"
    else:
        what = "late layers: object parts, the most specific to the original ImageNet classes"
    return f"{name}: {what}. Train it when your images differ from everyday photos."


def stage_sizes(backbone: str, num_classes: int) -> tuple[StageInfo, ...]:
    return tuple(preview_stages(backbone, num_classes))


class FreezePanel(QWidget):
    """The freeze tree, its presets and the live trainable-parameter count."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._backbone = ""
        self._num_classes = 2
        self.tree = QTreeWidget(objectName="freezeTree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Stage (checked = trains)", "Parameters"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setMinimumHeight(140)
        self.count_label = QLabel(objectName="trainableLabel")
        self.phase_label = QLabel(objectName="phasePlanLabel", wordWrap=True)
        self.phase_label.hide()
        self.preset_buttons: dict[str, QPushButton] = {}
        presets = QGridLayout()
        presets.setHorizontalSpacing(4)
        group = QButtonGroup(self, exclusive=False)  # names the button clicked
        group.buttonClicked.connect(self._preset_clicked)
        for i, name in enumerate(PRESETS):
            button = QPushButton(name, objectName=f"preset{name.title().replace(' ', '')}")
            button.setProperty("preset", name)
            button.setToolTip(PRESET_TIPS[name])
            group.addButton(button)
            presets.addWidget(button, 0, i)
            self.preset_buttons[name] = button
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(presets)
        layout.addWidget(self.tree)
        layout.addWidget(self.count_label)
        layout.addWidget(self.phase_label)
        self.tree.itemChanged.connect(self._item_changed)

    # ---- the stages ---------------------------------------------------------------------

    def set_backbone(self, backbone: str, num_classes: int | None = None) -> None:
        """Rebuild the tree, keeping the checked stages where the new backbone has them."""
        num_classes = max(2, num_classes or self._num_classes)
        if (backbone, num_classes) == (self._backbone, self._num_classes) and self._items():
            return
        keep = set(self.train_stages()) if backbone == self._backbone else {HEAD_STAGE}
        self._backbone, self._num_classes = backbone, num_classes
        self.tree.blockSignals(True)
        self.tree.clear()
        infos = stage_sizes(backbone, num_classes)
        backbone_stages = sum(info.name != HEAD_STAGE for info in infos)
        for index, info in enumerate(infos):
            item = QTreeWidgetItem([info.name, f"{info.total_params:,}"])
            item.setToolTip(0, stage_meaning(index, backbone_stages, info.name))
            item.setData(0, Qt.ItemDataRole.UserRole, info.total_params)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if info.name == HEAD_STAGE:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsUserCheckable)
                item.setText(0, f"{HEAD_STAGE} (new head, always trains)")
                item.setCheckState(0, Qt.CheckState.Checked)
            else:
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                checked = info.name in keep
                item.setCheckState(0, Qt.CheckState.Checked if checked
                                   else Qt.CheckState.Unchecked)
            item.setData(0, Qt.ItemDataRole.UserRole + 1, info.name)
            self.tree.addTopLevelItem(item)
        self.tree.blockSignals(False)
        self._fit_height()
        self._update_count()
        self.changed.emit()

    def _fit_height(self) -> None:
        """Show every stage without a scroll bar, up to a dozen rows."""
        rows = min(self.tree.topLevelItemCount(), 12)
        row_height = self.tree.sizeHintForRow(0) if rows else 18
        header = self.tree.header().sizeHint().height()
        self.tree.setFixedHeight(max(header + rows * row_height + 6, 100))

    def set_num_classes(self, num_classes: int) -> None:
        if self._backbone:
            self.set_backbone(self._backbone, num_classes)

    def _items(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]

    @staticmethod
    def _name(item: QTreeWidgetItem) -> str:
        return str(item.data(0, Qt.ItemDataRole.UserRole + 1))

    def stage_names(self) -> list[str]:
        return [self._name(item) for item in self._items()]

    def train_stages(self) -> tuple[str, ...]:
        """The checked stages, in model order; the head is always among them."""
        return tuple(self._name(item) for item in self._items()
                     if item.checkState(0) == Qt.CheckState.Checked)

    def set_train_stages(self, stages: tuple[str, ...] | list[str]) -> None:
        wanted = set(stages) | {HEAD_STAGE}
        self.tree.blockSignals(True)
        for item in self._items():
            if self._name(item) != HEAD_STAGE:
                item.setCheckState(0, Qt.CheckState.Checked if self._name(item) in wanted
                                   else Qt.CheckState.Unchecked)
        self.tree.blockSignals(False)
        self._update_count()
        self.changed.emit()

    def apply_preset(self, preset: str) -> None:
        backbone_stages = [n for n in self.stage_names() if n != HEAD_STAGE]
        k = PRESETS[preset]
        chosen = backbone_stages if k < 0 else backbone_stages[-k:] if k else []
        self.set_train_stages([*chosen, HEAD_STAGE])

    def _preset_clicked(self, button: QAbstractButton) -> None:
        self.apply_preset(str(button.property("preset")))

    # ---- two-phase fine-tuning ----------------------------------------------------------

    def show_plan(self, phases: list | None) -> None:
        """Show the core's phase plan: with two phases, a column of phase 2's learning rates
        and a line per phase; with one (or none known), the plain tree."""
        two = phases is not None and len(phases) > 1
        self.tree.setColumnCount(3 if two else 2)
        self.phase_label.setVisible(two)
        if not two:
            return
        last = phases[-1]
        self.tree.setHeaderLabels(["Stage (checked = trains)", "Parameters", "Phase 2 lr"])
        self.tree.headerItem().setToolTip(
            2, f"Learning rate of each stage from epoch {last.first_epoch} on; before that "
            "only the head trains")
        self.tree.header().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        for item in self._items():
            lr = last.lrs.get(self._name(item))
            item.setText(2, f"{lr:.2g}" if lr is not None else "frozen")
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.phase_label.setText("\n".join(phase.describe() for phase in phases))

    # ---- the count ----------------------------------------------------------------------

    def parameter_counts(self) -> tuple[int, int]:
        """(trainable, total) as the tree says."""
        trainable = total = 0
        for item in self._items():
            n = int(item.data(0, Qt.ItemDataRole.UserRole))
            total += n
            if item.checkState(0) == Qt.CheckState.Checked:
                trainable += n
        return trainable, total

    def _item_changed(self, _item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            self._update_count()
            self.changed.emit()

    def _update_count(self) -> None:
        trainable, total = self.parameter_counts()
        share = 100 * trainable / total if total else 0.0
        self.count_label.setText(
            f"Trainable: {trainable:,} of {total:,} parameters ({share:.1f}%)")
        self.count_label.setToolTip(
            "Only the new head trains: features are computed once, epochs are fast."
            if self.train_stages() == (HEAD_STAGE,) else
            "Checked backbone stages are fine-tuned together with the head.")
