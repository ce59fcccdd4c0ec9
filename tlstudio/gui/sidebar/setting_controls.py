"""Window controls made from a Recipe field's Setting: the widget, its range, items and tooltip,
and reading and writing the field's value through it without losing what a recipe said.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import SignalInstance
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox, QWidget

from tlstudio.recipe import Recipe
from tlstudio.settings import Setting, field_default

SETTINGS: dict[str, Setting] = {f.name: f.metadata["setting"] for f in dataclasses.fields(Recipe)}
DEFAULTS: dict[str, Any] = {f.name: field_default(f) for f in dataclasses.fields(Recipe)}
CONTROLLED_KINDS = ("int", "float", "bool", "choice")
SHOWN_DIGITS = 6  # significant digits a float spin box shows; it keeps more
NOT_HERE = " (not on this machine)"


class NumberSpin(QDoubleSpinBox):
    """A float spin box that shows '%g' (0.0001, 1e-06) and keeps the value it was set to, up to
    its decimals, so an opened recipe's number is saved back unchanged."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.{SHOWN_DIGITS}g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(self._number_text(text))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        if self.specialValueText() and text == self.specialValueText():
            return QValidator.State.Acceptable, text, pos
        try:
            value = float(self._number_text(text))
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        inside = self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if inside else QValidator.State.Intermediate,
                text, pos)

    def _number_text(self, text: str) -> str:
        return text.removeprefix(self.prefix()).removesuffix(self.suffix()).strip()


def default_text(name: str) -> str:
    """The field's default as the window shows it: a choice's label, on/off, a number with
    its unit, what None means."""
    s, value = SETTINGS[name], DEFAULTS[name]
    if value is dataclasses.MISSING:
        return "none, it must be chosen"
    if value is None:
        return none_text(s) or "none"
    if s.kind == "choice":
        return dict(s.choices).get(value, str(value))
    if s.kind == "bool":
        return "on" if value else "off"
    if s.percent:
        return f"{value:.0%}"
    if s.zero_means and value == 0:
        return s.zero_means
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{value} {s.unit}".strip() if s.unit not in ("%", "°") else f"{value}{s.unit}"


def setting_tooltip(name: str) -> str:
    """What the control does (the Setting's help) and its default."""
    help_text = SETTINGS[name].help
    return f"{help_text[:1].upper()}{help_text[1:]} (default: {default_text(name)})"


def none_text(s: Setting) -> str:
    """What a control shows for None: the first words of `none_means`."""
    return s.none_means.split(" (")[0]


NARROWEST = 90  # px: a field still shows e.g. '0.0001' or '224 px'


def make_control(name: str, choices: Sequence[tuple[Any, str]] | None = None) -> QWidget:
    """The widget for a Recipe field, named after it, set to the field's default; `choices`
    narrows a choice field's items (the devices this machine has)."""
    s = SETTINGS[name]
    suffix = f" {s.unit}" if s.unit and s.unit != "°" else s.unit
    if s.kind == "choice":
        widget: QWidget = QComboBox()
        for value, label in choices if choices is not None else s.choices:
            widget.addItem(label, value)
    elif s.kind == "bool":
        widget = QCheckBox(s.label)
    elif s.kind == "int":
        low = int(s.low) - 1 if s.none_means else int(s.low)
        widget = QSpinBox(minimum=low, maximum=int(s.high), singleStep=int(s.step), suffix=suffix)
    elif s.kind == "float":
        widget = NumberSpin(decimals=s.decimals, minimum=s.low, maximum=s.high,
                            singleStep=s.step, suffix=suffix)
    else:
        raise ValueError(f"{name} ({s.kind}) has no control of its own")
    if s.none_means and isinstance(widget, QSpinBox):
        widget.setSpecialValueText(none_text(s))
    elif s.zero_means and s.low == 0:
        widget.setSpecialValueText(s.zero_means)  # shown at the minimum, 0
    widget.setObjectName(name)
    widget.setToolTip(setting_tooltip(name))
    write_control(widget, name, DEFAULTS[name])
    _narrow(widget)
    return widget


def _narrow(widget: QWidget) -> None:
    """A wide range (seeds up to 2**31) or a long special text must not widen the sidebar:
    the field shrinks with it, down to a width that still shows a typical value."""
    if isinstance(widget, QComboBox):
        widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        widget.setMinimumContentsLength(10)
    elif not isinstance(widget, QCheckBox):
        widget.setMinimumWidth(min(widget.minimumSizeHint().width(), NARROWEST))


def read_control(widget: QWidget, name: str) -> Any:
    """The field's value as the widget shows it."""
    s = SETTINGS[name]
    if isinstance(widget, QComboBox):
        return widget.currentData()
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QSpinBox):
        value = widget.value()
        return None if s.none_means and value == widget.minimum() else value
    return round(widget.value(), widget.decimals())


def write_control(widget: QWidget, name: str, value: Any) -> None:
    s = SETTINGS[name]
    if isinstance(widget, QComboBox):
        index = widget.findData(value)
        if index < 0:  # a recipe's device this machine lacks: keep it, say so
            label = dict(s.choices).get(value, str(value))
            widget.addItem(label + NOT_HERE, value)
            index = widget.count() - 1
        widget.setCurrentIndex(index)
    elif isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QSpinBox):
        widget.setValue(widget.minimum() if value is None else int(value))
    else:
        widget.setValue(float(value))


def changed_signal(widget: QWidget) -> SignalInstance:
    if isinstance(widget, QComboBox):
        return widget.currentIndexChanged
    if isinstance(widget, QCheckBox):
        return widget.toggled
    return widget.valueChanged


def has_control(name: str) -> bool:
    s = SETTINGS[name]
    return s.kind in CONTROLLED_KINDS and s.window


def percent_spin(name: str, suffix: str) -> NumberSpin:
    """A fraction field shown as a percentage (the validation split)."""
    s = SETTINGS[name]
    spin = NumberSpin(objectName=name, decimals=max(s.decimals - 2, 0), minimum=s.low * 100,
                      maximum=s.high * 100, singleStep=s.step * 100, suffix=suffix)
    spin.setToolTip(setting_tooltip(name))
    spin.setValue(DEFAULTS[name] * 100)
    return spin


def read_percent(spin: QDoubleSpinBox) -> float:
    return round(spin.value() / 100, spin.decimals() + 2)
