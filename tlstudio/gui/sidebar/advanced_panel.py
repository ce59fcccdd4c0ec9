"""The sidebar's "Advanced" section: augmentation, optimizer and schedule, callbacks, two-phase
fine-tuning, class balance and precision, as Recipe fields; closed by default.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tlstudio.data.augment import PRESETS, augments
from tlstudio.errors import TlstudioError
from tlstudio.gui.shared.palette_colours import note_style
from tlstudio.gui.sidebar.augment_preview import AugmentPreview
from tlstudio.gui.sidebar.setting_controls import (
    DEFAULTS,
    SETTINGS,
    changed_signal,
    has_control,
    make_control,
    read_control,
    write_control,
)
from tlstudio.recipe import AUGMENT_OPTIONS, Recipe
from tlstudio.settings import GROUPS
from tlstudio.training.phases import phase_plan

CACHE_NOTE = ("Feature cache off while augmenting or mixing: every epoch runs the whole "
              "backbone.")
# Recipe fields without a control in the window: an opened recipe's values are kept, so
# Open recipe -> Save recipe writes them back unchanged.
UNCONTROLLED = tuple(name for name, s in SETTINGS.items() if not s.window)
SHOWN_ELSEWHERE = ("data", "backbone", "layers")  # the numbered steps' own panels


def recipe_default(name: str) -> Any:
    return DEFAULTS[name]


def advanced_settings() -> dict[str, list[str]]:
    """Group -> the fields with a control here: every Setting for experts, in schema order."""
    groups: dict[str, list[str]] = {key: [] for key, _ in GROUPS if key not in SHOWN_ELSEWHERE}
    for name, s in SETTINGS.items():
        if not s.beginner and has_control(name) and s.group in groups:
            groups[s.group].append(name)
    return {key: names for key, names in groups.items() if names}


def _augment_control(key: str) -> QWidget:
    """The field of one control of the augmentation preset, from its Setting."""
    s = AUGMENT_OPTIONS[key]
    name = "aug" + "".join(p.title() for p in key.split("_"))
    if s.kind == "bool":
        widget: QWidget = QCheckBox(objectName=name)
    else:
        widget = QDoubleSpinBox(objectName=name, minimum=s.low, maximum=s.high,
                                singleStep=s.step, decimals=s.decimals, suffix=s.unit)
        widget.setSpecialValueText(s.zero_means)  # shown at 0 where 0 means off
    widget.setToolTip(f"{s.help[:1].upper()}{s.help[1:]} (default: the augmentation "
                      "preset's value)")
    return widget


class AdvancedPanel(QWidget):
    """The controls made from the Recipe's Settings that a beginner does not need, grouped as
    the schema groups them; `values()` gives Recipe fields, `set_from_recipe` shows a recipe."""

    changed = Signal()  # any control changed
    augmentationChanged = Signal()  # a control that changes what the preview shows

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._counts: dict[str, int] = {}
        self._uncontrolled: dict[str, Any] = {}
        self.groups = advanced_settings()
        self.controls = {name: make_control(name) for names in self.groups.values()
                         for name in names}
        self.augment = self.controls["augment"]
        self.balance = self.controls["balance"]
        self.controls["weight_decay"].setStepType(
            QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.cache_note = QLabel(CACHE_NOTE, objectName="augmentNote", wordWrap=True)
        self.cache_note.setStyleSheet(note_style("warning"))
        self.augment_controls = {key: _augment_control(key) for key in AUGMENT_OPTIONS}
        self.preview = AugmentPreview(self.augment_settings)
        self.imbalance_label = QLabel("Scan a folder to check class balance",
                                      objectName="imbalanceLabel", wordWrap=True)
        self.precision_in_use = QLabel("", objectName="precisionInUse", wordWrap=True)
        self.precision_in_use.hide()  # until a run says what it uses
        self._build_layout()
        self.set_from_recipe(Recipe(data_dir="."))
        self._connect()

    # ---- building -----------------------------------------------------------------------

    def _group(self, title: str, names: list[str], below: tuple[QWidget, ...] = ()) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setContentsMargins(6, 6, 6, 6)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name in names:
            widget = self.controls[name]
            if isinstance(widget, QCheckBox):
                form.addRow(widget)  # the check box says what it is
            else:
                form.addRow(QLabel(SETTINGS[name].label, toolTip=widget.toolTip()), widget)
        for widget in below:
            form.addRow(widget)
        return box

    def _augment_group(self, title: str, names: list[str]) -> QGroupBox:
        """Preset, note and preview first; the individual controls two to a row below."""
        box = self._group(title, ["augment"], (self.cache_note, self.preview))
        pairs = [(AUGMENT_OPTIONS[k].label, w) for k, w in self.augment_controls.items()]
        pairs += [(SETTINGS[n].label, self.controls[n]) for n in names if n != "augment"]
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
        titles = dict(GROUPS)
        below = {"balance": (self.imbalance_label,), "speed": (self.precision_in_use,)}
        self.layout_ = layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for key, names in self.groups.items():
            if key == "augmentation":
                self.augment_box = self._augment_group(titles[key], names)
                layout.addWidget(self.augment_box)
            else:
                layout.addWidget(self._group(titles[key], names, below.get(key, ())))

    def _connect(self) -> None:
        self.augment.currentIndexChanged.connect(self._preset_changed)
        for widget in self._augment_widgets():
            changed_signal(widget).connect(self.augmentationChanged)
        self.augmentationChanged.connect(self._update_note)
        self.augmentationChanged.connect(self.preview.schedule_refresh)
        self.balance.currentIndexChanged.connect(self._show_imbalance)
        for name in ("mixup_alpha", "cutmix_alpha"):
            changed_signal(self.controls[name]).connect(self._update_note)
        for widget in [*self.controls.values(), *self.augment_controls.values()]:
            changed_signal(widget).connect(self.changed)

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
        return (augments({**PRESETS[preset], **options})
                or self.controls["mixup_alpha"].value() > 0
                or self.controls["cutmix_alpha"].value() > 0)

    def _update_note(self) -> None:
        self.cache_note.setVisible(self.augmenting())

    # ---- values -------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """Recipe fields, by name (with those of an opened recipe the window cannot show)."""
        return {**self._uncontrolled, **self.control_values()}

    def control_values(self) -> dict[str, Any]:
        """The fields this section's controls set."""
        preset, options = self.augment_settings()
        values = {name: read_control(widget, name) for name, widget in self.controls.items()}
        return {**values, "augment": preset, "augment_options": options}

    def set_from_recipe(self, recipe: Recipe) -> None:
        for widget in self.findChildren(QWidget):
            widget.blockSignals(True)
        try:
            self._uncontrolled = {name: getattr(recipe, name) for name in UNCONTROLLED}
            for name, widget in self.controls.items():
                write_control(widget, name, getattr(recipe, name))
        finally:
            for widget in self.findChildren(QWidget):
                widget.blockSignals(False)
        self._show_augment_settings(recipe.augment, recipe.augment_options)
        self.changed.emit()
        self.augmentationChanged.emit()

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
            known = {k: v for k, v in saved.items() if k in SETTINGS}
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
        from tlstudio.failures import FrontEnd, with_remedies

        imbalance = class_imbalance(self._counts)
        balance = str(self.balance.currentData())
        text = with_remedies(imbalance.describe(balance), imbalance.remedies(balance),
                             FrontEnd.WINDOW)
        self.imbalance_label.setText(text)
        self.imbalance_label.setStyleSheet(note_style("warning") if imbalance.imbalanced else "")

    def show_precision(self, text: str) -> None:
        self.precision_in_use.setText(f"In use: {text}" if text else "")
        self.precision_in_use.setVisible(bool(text))


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
