"""Step 4, training settings: epochs, batch size, learning rate, image size, device, seed, threads.

Device lists only what this machine has; CPU threads leave one core to the window by default.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from tlstudio.defaults import default_runs_dir
from tlstudio.devices import available_devices
from tlstudio.errors import TlstudioError
from tlstudio.gui.shared.palette_colours import muted_text
from tlstudio.gui.sidebar.setting_controls import (
    DEFAULTS,
    SETTINGS,
    has_control,
    make_control,
    read_control,
    write_control,
)
from tlstudio.recipe import Recipe


def _label(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text, toolTip=buddy.toolTip())
    label.setBuddy(buddy)
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return label


class SettingsPanel(QWidget):
    """The beginner's training settings, one control per Recipe field of the "training" group
    (made from its Setting); `values()` gives them as Recipe fields."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls = {name: make_control(name, available_devices() if name == "device"
                                            else None)
                         for name, s in SETTINGS.items()
                         if s.group == "training" and s.beginner and has_control(name)}
        self.epochs, self.batch_size = self.controls["epochs"], self.controls["batch_size"]
        self.lr, self.image_size = self.controls["lr"], self.controls["image_size"]
        self.device, self.threads = self.controls["device"], self.controls["threads"]
        self.lr.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.device_in_use = QLabel("", objectName="deviceInUse", wordWrap=True)
        self.device_in_use.setStyleSheet(f"color:{muted_text()};")
        self.device_in_use.hide()  # until a run says what it uses
        self.runs_dir = QLineEdit(str(default_runs_dir()), objectName="runsFolderEdit")
        self.runs_dir.setToolTip(f"Each run gets its own folder inside this one (default: "
                                 f"{default_runs_dir()})")
        self._build_layout()

    def _build_layout(self) -> None:
        """Two number fields per row keep all four steps on one screen; lists get a row."""
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        numbers = [n for n, w in self.controls.items() if not isinstance(w, QComboBox)]
        lists = [n for n in self.controls if n not in numbers]
        for i, name in enumerate(numbers):
            field = self.controls[name]
            grid.addWidget(_label(SETTINGS[name].label, field), i // 2, 2 * (i % 2))
            grid.addWidget(field, i // 2, 2 * (i % 2) + 1)
        row = (len(numbers) + 1) // 2
        for name in lists:
            grid.addWidget(_label(SETTINGS[name].label, self.controls[name]), row, 0)
            grid.addWidget(self.controls[name], row, 1, 1, 3)
            row += 1
        grid.addWidget(self.device_in_use, row, 1, 1, 3)
        browse = QToolButton(text="…", objectName="browseRunsFolder")
        browse.setToolTip("Choose the folder that runs are saved in")
        browse.clicked.connect(self._browse_runs_dir)
        runs_row = QHBoxLayout()
        runs_row.addWidget(self.runs_dir, 1)
        runs_row.addWidget(browse)
        grid.addWidget(_label("Save runs in", self.runs_dir), row + 1, 0)
        grid.addLayout(runs_row, row + 1, 1, 1, 3)

    def _browse_runs_dir(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path = QFileDialog.getExistingDirectory(self, "Folder for runs", self.runs_dir.text())
        if path:
            self.runs_dir.setText(path)

    def show_fit_started(self, event: object) -> None:
        """Say what the run really uses: the device 'auto' chose and its precision."""
        precision = getattr(event, "precision", "")
        self.device_in_use.setText(f"In use: {event.device}" + (f", {precision}" if precision
                                                                 else ""))
        self.device_in_use.show()

    def values(self) -> dict[str, object]:
        """Recipe fields, by name."""
        return {name: read_control(widget, name) for name, widget in self.controls.items()}

    def set_from_recipe(self, recipe: object) -> None:
        """Show a recipe's (or a mapping's) values of these fields, exactly."""
        for name, widget in self.controls.items():
            value = (recipe.get(name, DEFAULTS[name]) if isinstance(recipe, dict)
                     else getattr(recipe, name))
            write_control(widget, name, value)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("training/values", json.dumps(self.values()))
        settings.setValue("training/runs_dir", self.runs_dir.text())

    def restore_settings(self, settings: QSettings) -> None:
        try:
            saved = (json.loads(str(settings.value("training/values")))
                     if settings.contains("training/values") else self._older_settings(settings))
            values = {**self.values(), **{k: v for k, v in saved.items() if k in self.controls}}
            Recipe(data_dir=".", **values)  # settings from another version may not fit
            self.set_from_recipe(values)
        except (TlstudioError, TypeError, ValueError, AttributeError):
            pass  # keep the defaults
        self.runs_dir.setText(str(settings.value("training/runs_dir", str(default_runs_dir()))))

    def _older_settings(self, settings: QSettings) -> dict[str, object]:
        """Values that earlier versions kept one key each, as text."""
        kinds = {"int": int, "float": float}
        return {name: kinds.get(SETTINGS[name].kind, str)(settings.value(f"training/{name}"))
                for name in self.controls if settings.contains(f"training/{name}")}
