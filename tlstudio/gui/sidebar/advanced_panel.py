"""The sidebar's "Advanced" section: augmentation, optimizer and schedule, callbacks, two-phase
fine-tuning, class balance and precision, as Recipe fields; closed by default.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tlstudio.data.augment import PRESETS, augments
from tlstudio.errors import TlstudioError
from tlstudio.gui.sidebar.augment_preview import AugmentPreview
from tlstudio.recipe import Recipe
from tlstudio.training.phases import phase_plan

RECIPE_FIELDS = {f.name: f for f in dataclasses.fields(Recipe)}
CACHE_NOTE = ("Feature cache off while augmenting or mixing: every epoch runs the whole "
              "backbone.")
OFF = "off"
# Recipe fields without a control in the window: an opened recipe's values are kept, so
# Open recipe -> Save recipe writes them back unchanged.
UNCONTROLLED = ("unfreeze", "weights", "feature_cache", "num_workers")

# augment_options keys -> (label, kind, low, high, step, decimals, suffix, tip), in grid order
AUGMENT_CONTROLS: dict[str, tuple[str, str, float, float, float, int, str, str]] = {
    "crop_scale": ("Crop ≥", "float", 0.05, 1.0, 0.05, 2, "",
                   "Random crops keep at least this fraction of the image area (1 = no crop)"),
    "rotation": ("Rotate", "float", 0.0, 180.0, 5.0, 1, "°", "Rotate up to this many degrees"),
    "shift": ("Shift", "float", 0.0, 0.5, 0.05, 2, "",
              "Shift up to this fraction of the width and height"),
    "shear": ("Shear", "float", 0.0, 45.0, 5.0, 1, "°", "Shear up to this many degrees"),
    "zoom": ("Zoom ±", "float", 0.0, 0.9, 0.05, 2, "", "0.1 zooms between 0.9x and 1.1x"),
    "color_jitter": ("Color", "float", 0.0, 1.0, 0.05, 2, "",
                     "Brightness, contrast, saturation and hue jitter, 0 (off) to 1"),
    "hflip": ("Flip ↔", "bool", 0, 0, 0, 0, "", "Flip left-right half of the time"),
    "vflip": ("Flip ↕", "bool", 0, 0, 0, 0, "", "Flip upside-down half of the time"),
}


def recipe_default(name: str) -> Any:
    f = RECIPE_FIELDS[name]
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _combo(name: str, items: list[tuple[str, Any]], tip: str = "") -> QComboBox:
    combo = QComboBox(objectName=name, toolTip=tip)
    for text, value in items:
        combo.addItem(text, value)
    return combo


def _set_combo(combo: QComboBox, value: Any) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(max(index, 0))


def _double(name: str, low: float, high: float, step: float, decimals: int,
            off_text: str = "", suffix: str = "") -> QDoubleSpinBox:
    spin = QDoubleSpinBox(objectName=name, minimum=low, maximum=high, singleStep=step,
                          decimals=decimals, suffix=suffix)
    if off_text:
        spin.setSpecialValueText(off_text)  # shown at the minimum: 0 means off
    return spin


def _patience(name: str, tip: str) -> QSpinBox:
    spin = QSpinBox(objectName=name, minimum=0, maximum=1000, suffix=" epochs", toolTip=tip)
    spin.setSpecialValueText(OFF)
    return spin


class AdvancedPanel(QWidget):
    """The controls; `values()` gives Recipe fields, `set_from_recipe` shows a recipe."""

    changed = Signal()  # any control changed
    augmentationChanged = Signal()  # a control that changes what the preview shows

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._counts: dict[str, int] = {}
        self._uncontrolled: dict[str, Any] = {}
        self._build_controls()
        self._build_layout()
        self.set_from_recipe(Recipe(data_dir="."))
        self._connect()

    # ---- building -----------------------------------------------------------------------

    def _build_controls(self) -> None:
        self.augment = _combo("augmentPreset", [("None", "none"), ("Light", "light"),
                                                ("Strong", "strong")],
                              "Random changes to training images; validation images never change")
        self.cache_note = QLabel(CACHE_NOTE, objectName="augmentNote", wordWrap=True)
        self.cache_note.setStyleSheet("color:#8a5a00;")
        self.augment_controls: dict[str, QWidget] = {}
        for key, (_label, kind, low, high, step, decimals, suffix, tip) in (
                AUGMENT_CONTROLS.items()):
            name = "aug" + "".join(p.title() for p in key.split("_"))
            widget = (QCheckBox(objectName=name) if kind == "bool"
                      else _double(name, low, high, step, decimals, OFF if low == 0 else "",
                                   suffix))
            widget.setToolTip(tip)
            self.augment_controls[key] = widget
        self.preview = AugmentPreview(self.augment_settings)
        self.mixup = _double("mixupAlpha", 0.0, 10.0, 0.1, 2, OFF)
        self.mixup.setToolTip("MixUp blends pairs of images and labels; 0.2-0.4 is typical")
        self.cutmix = _double("cutmixAlpha", 0.0, 10.0, 0.1, 2, OFF)
        self.cutmix.setToolTip("CutMix pastes a patch of another image; 1.0 is typical")

        self.optimizer = _combo("optimizerCombo", [("AdamW", "adamw"), ("Adam", "adam"),
                                                   ("SGD (momentum 0.9)", "sgd")])
        self.weight_decay = _double("weightDecaySpin", 0.0, 1.0, 1e-4, 6)
        self.weight_decay.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.label_smoothing = _double("labelSmoothingSpin", 0.0, 0.99, 0.05, 3, OFF)
        self.schedule = _combo("scheduleCombo", [("Constant", "constant"), ("Cosine", "cosine"),
                                                 ("One-cycle", "onecycle"),
                                                 ("Step (×0.1 every third)", "step")])
        self.warmup = _double("warmupSpin", 0.0, 1000.0, 0.5, 2, OFF, " epochs")

        self.monitor = _combo("monitorCombo", [("Validation loss", "val_loss"),
                                               ("Validation accuracy", "val_accuracy")],
                              "The metric that picks the best epoch, stops early, lowers the lr")
        self.keep_best = QCheckBox("Keep the best epoch's model", objectName="keepBestCheck")
        self.early_stopping = _patience("earlyStoppingSpin",
                                        "Stop after this many epochs without progress")
        self.reduce_lr = _patience("reduceLrSpin",
                                   "Lower the lr after this many epochs without progress")
        self.reduce_lr_factor = _double("reduceLrFactorSpin", 0.01, 0.99, 0.05, 2)

        self.head_epochs = QSpinBox(objectName="headEpochs", minimum=0, maximum=1000,
                                    suffix=" epochs")
        self.head_epochs.setSpecialValueText(OFF)
        self.head_epochs.setToolTip("First train only the new head this many epochs, then the "
                                    "checked stages with lower learning rates for early stages")
        self.lr_decay = _double("lrDecaySpin", 0.01, 1.0, 0.1, 2)
        self.lr_decay.setToolTip("Each earlier stage gets the lr times this (1 = same lr)")
        self.balance = _combo("balanceMode", [("None", "none"),
                                              ("Weighted sampler", "sampler"),
                                              ("Class-weighted loss", "loss")])
        self.imbalance_label = QLabel("Scan a folder to check class balance",
                                      objectName="imbalanceLabel", wordWrap=True)
        self.precision = _combo("precisionMode", [("Auto (fastest measured)", "auto"),
                                                  ("fp32", "fp32"), ("bf16", "bf16"),
                                                  ("fp16", "fp16")])
        self.channels_last = _combo("channelsLastCombo", [("Auto (on where faster)", None),
                                                          ("On", True), ("Off", False)])
        self.precision_in_use = QLabel("", objectName="precisionInUse", wordWrap=True)
        self.precision_in_use.hide()  # until a run says what it uses

    def _group(self, title: str, rows: list[tuple[str, QWidget]]) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setContentsMargins(6, 6, 6, 6)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for text, widget in rows:
            if text:
                form.addRow(text, widget)
            else:
                form.addRow(widget)
        return box

    def _augment_group(self) -> QGroupBox:
        """Preset, note and preview first; the individual controls two to a row below."""
        box = self._group("Augmentation", [("Preset", self.augment), ("", self.cache_note),
                                           ("", self.preview)])
        pairs = [(AUGMENT_CONTROLS[k][0], w) for k, w in self.augment_controls.items()]
        pairs += [("MixUp α", self.mixup), ("CutMix α", self.cutmix)]
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        for i, (text, widget) in enumerate(pairs):
            label = QLabel(text, buddy=widget, toolTip=widget.toolTip())
            grid.addWidget(label, i // 2, 2 * (i % 2))
            grid.addWidget(widget, i // 2, 2 * (i % 2) + 1)
        box.layout().addRow(grid)
        return box

    def _build_layout(self) -> None:
        self.augment_box = self._augment_group()
        optim = self._group("Optimizer and schedule", [
            ("Optimizer", self.optimizer), ("Weight decay", self.weight_decay),
            ("Label smoothing", self.label_smoothing), ("Schedule", self.schedule),
            ("Warm-up", self.warmup)])
        callbacks = self._group("Callbacks", [
            ("Monitor", self.monitor), ("", self.keep_best),
            ("Early stopping", self.early_stopping), ("Reduce LR after", self.reduce_lr),
            ("Reduce LR by", self.reduce_lr_factor)])
        self.layout_ = layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for box in (self.augment_box, optim, callbacks):
            layout.addWidget(box)
        layout.addWidget(self._group("Two-phase fine-tuning", [
            ("Head only first", self.head_epochs), ("LR decay per stage", self.lr_decay)]))
        layout.addWidget(self._group("Class balance", [("Balance", self.balance),
                                                       ("", self.imbalance_label)]))
        layout.addWidget(self._group("Speed", [
            ("Precision", self.precision), ("channels_last", self.channels_last),
            ("", self.precision_in_use)]))

    def _connect(self) -> None:
        self.augment.currentIndexChanged.connect(self._preset_changed)
        for widget in self._augment_widgets():
            _changed_signal(widget).connect(self.augmentationChanged)
        self.augmentationChanged.connect(self._update_note)
        self.augmentationChanged.connect(self.preview.schedule_refresh)
        self.balance.currentIndexChanged.connect(self._show_imbalance)
        self.mixup.valueChanged.connect(self._update_note)
        self.cutmix.valueChanged.connect(self._update_note)
        for kind in (QComboBox, QDoubleSpinBox, QSpinBox, QCheckBox):
            for widget in self.findChildren(kind):
                _changed_signal(widget).connect(self.changed)

    def add_group(self, title: str, widget: QWidget) -> QGroupBox:
        """Another tool at the end of the section (the LR finder)."""
        box = QGroupBox(title)
        box_layout = QVBoxLayout(box)
        box_layout.setContentsMargins(2, 2, 2, 2)
        box_layout.addWidget(widget)
        self.layout_.addWidget(box)
        return box

    def cancel(self) -> None:
        self.preview.cancel()

    def backbone_changed(self) -> None:
        """An opened recipe's weights file belongs to its backbone, not to a new one."""
        self._uncontrolled.pop("weights", None)

    def _augment_widgets(self) -> list[QWidget]:
        return [self.augment, *self.augment_controls.values()]

    # ---- augmentation -------------------------------------------------------------------

    def _preset_changed(self) -> None:
        self._show_augment_settings(self.augment.currentData(), {})

    def _show_augment_settings(self, preset: str, options: dict[str, Any]) -> None:
        settings = {**PRESETS[preset], **options}
        for key, widget in self.augment_controls.items():
            widget.blockSignals(True)
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(settings[key]))
            else:
                widget.setValue(float(settings[key]))
            widget.blockSignals(False)
        self._update_note()

    def augment_settings(self) -> tuple[str, dict[str, Any]]:
        """(preset, overrides of its individual controls) as the widgets say."""
        preset = str(self.augment.currentData())
        options = {}
        for key, widget in self.augment_controls.items():
            value = (widget.isChecked() if isinstance(widget, QCheckBox)
                     else round(widget.value(), widget.decimals()))
            if value != PRESETS[preset][key]:
                options[key] = value
        return preset, options

    def augmenting(self) -> bool:
        """True when training images change (augmentation or mixing): no feature cache then."""
        preset, options = self.augment_settings()
        return (augments({**PRESETS[preset], **options}) or self.mixup.value() > 0
                or self.cutmix.value() > 0)

    def _update_note(self) -> None:
        self.cache_note.setVisible(self.augmenting())

    # ---- values -------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """Recipe fields, by name (with those of an opened recipe the window cannot show)."""
        return {**self._uncontrolled, **self.control_values()}

    def control_values(self) -> dict[str, Any]:
        """The fields this section's controls set."""
        preset, options = self.augment_settings()
        return {
            "augment": preset,
            "augment_options": options,
            "mixup_alpha": self.mixup.value(),
            "cutmix_alpha": self.cutmix.value(),
            "optimizer": self.optimizer.currentData(),
            "weight_decay": self.weight_decay.value(),
            "label_smoothing": self.label_smoothing.value(),
            "schedule": self.schedule.currentData(),
            "warmup_epochs": self.warmup.value(),
            "monitor": self.monitor.currentData(),
            "keep_best": self.keep_best.isChecked(),
            "early_stopping_patience": self.early_stopping.value() or None,
            "reduce_lr_patience": self.reduce_lr.value() or None,
            "reduce_lr_factor": self.reduce_lr_factor.value(),
            "head_epochs": self.head_epochs.value(),
            "lr_decay": self.lr_decay.value(),
            "balance": self.balance.currentData(),
            "precision": self.precision.currentData(),
            "channels_last": self.channels_last.currentData(),
        }

    def set_from_recipe(self, recipe: Recipe) -> None:
        for widget in self.findChildren(QWidget):
            widget.blockSignals(True)
        try:
            self._set_values(recipe)
        finally:
            for widget in self.findChildren(QWidget):
                widget.blockSignals(False)
        self._show_augment_settings(recipe.augment, recipe.augment_options)
        self.changed.emit()
        self.augmentationChanged.emit()

    def _set_values(self, r: Recipe) -> None:
        self._uncontrolled = {name: getattr(r, name) for name in UNCONTROLLED}
        _set_combo(self.augment, r.augment)
        _set_combo(self.optimizer, r.optimizer)
        self.weight_decay.setValue(r.weight_decay)
        self.label_smoothing.setValue(r.label_smoothing)
        _set_combo(self.schedule, r.schedule)
        self.warmup.setValue(r.warmup_epochs)
        _set_combo(self.monitor, r.monitor)
        self.keep_best.setChecked(r.keep_best)
        self.early_stopping.setValue(r.early_stopping_patience or 0)
        self.reduce_lr.setValue(r.reduce_lr_patience or 0)
        self.reduce_lr_factor.setValue(r.reduce_lr_factor)
        self.mixup.setValue(r.mixup_alpha)
        self.cutmix.setValue(r.cutmix_alpha)
        self.head_epochs.setValue(r.head_epochs)
        self.lr_decay.setValue(r.lr_decay)
        _set_combo(self.balance, r.balance)
        _set_combo(self.precision, r.precision)
        _set_combo(self.channels_last, r.channels_last)

    def phase_plan(self, stages: list[str], **fields: Any) -> list | None:
        """The core's two-phase plan for these stages and the window's other recipe `fields`;
        None while the settings are invalid."""
        try:
            return phase_plan(stages, Recipe(data_dir=".", **fields, **self.values()))
        except TlstudioError:
            return None

    # ---- settings -----------------------------------------------------------------------

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("advanced/values", json.dumps(self.control_values()))

    def restore_settings(self, settings: QSettings) -> None:
        try:
            saved = json.loads(str(settings.value("advanced/values", "{}")))
            known = {k: v for k, v in saved.items() if k in RECIPE_FIELDS}
            self.set_from_recipe(Recipe(data_dir=".", **known))
        except (TlstudioError, TypeError, ValueError, AttributeError):
            pass  # settings from another version: keep the defaults

    # ---- what the data and the engine report --------------------------------------------

    def show_scan(self, data: object) -> None:
        """A finished folder scan (ScannedData): preview its first image, check its balance."""
        samples = data.train.samples
        self.preview.set_image(samples[0][0] if samples else None)
        self.show_class_counts(data.train.counts())

    def show_fit_started(self, event: object) -> None:
        self.show_precision(str(getattr(event, "precision", "") or ""))

    def show_class_counts(self, counts: dict[str, int]) -> None:
        """Show how uneven the scanned classes are (the core's class_imbalance)."""
        self._counts = dict(counts)
        self._show_imbalance()

    def _show_imbalance(self) -> None:
        if not self._counts:
            return
        from tlstudio.data.imbalance import class_imbalance

        imbalance = class_imbalance(self._counts)
        text = imbalance.describe(str(self.balance.currentData()))
        text = text.replace("consider --balance sampler or --balance loss",
                            "consider a weighted sampler or a class-weighted loss")
        self.imbalance_label.setText(text)
        self.imbalance_label.setStyleSheet("color:#8a5a00;" if imbalance.imbalanced else "")

    def show_precision(self, text: str) -> None:
        self.precision_in_use.setText(f"In use: {text}" if text else "")
        self.precision_in_use.setVisible(bool(text))


def _changed_signal(widget: QWidget):
    if isinstance(widget, QComboBox):
        return widget.currentIndexChanged
    if isinstance(widget, QCheckBox):
        return widget.toggled
    return widget.valueChanged


class AdvancedSection(QWidget):
    """A header button that opens and closes the content; closed by default."""

    def __init__(self, content: QWidget, title: str = "Advanced",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="advancedSection")
        self.toggle = QToolButton(objectName="advancedToggle", text=title, checkable=True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.setStyleSheet("QToolButton { font-weight: bold; border: none; }")
        self.toggle.setToolTip("Augmentation, optimizer, callbacks, LR finder, precision")
        self.content = content
        content.setObjectName("advancedContent")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(content)
        content.setVisible(False)
        self.toggle.toggled.connect(self.set_open)

    def is_open(self) -> bool:
        return self.toggle.isChecked()

    def set_open(self, open_: bool) -> None:
        if self.toggle.isChecked() != open_:
            self.toggle.setChecked(open_)  # comes back here through `toggled`
            return
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.content.setVisible(open_)
