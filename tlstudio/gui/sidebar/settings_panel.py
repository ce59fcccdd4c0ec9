"""Step 4, training settings: epochs, batch size, learning rate, image size, device, seed, threads.

Device lists only what this machine has; CPU threads leave one core to the window by default.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from tlstudio.defaults import default_runs_dir
from tlstudio.devices import available_devices, default_threads


def _spin(name: str, low: int, high: int, value: int, suffix: str = "") -> QSpinBox:
    spin = QSpinBox(objectName=name, minimum=low, maximum=high, value=value, suffix=suffix)
    return spin


def _label(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(buddy)
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return label


class SettingsPanel(QWidget):
    """The numbers of a run; `values()` gives them as Recipe fields."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.epochs = _spin("epochsSpin", 1, 1000, 5)
        self.batch_size = _spin("batchSizeSpin", 1, 4096, 32)
        self.lr = QDoubleSpinBox(objectName="learningRateSpin", decimals=6, minimum=1e-6,
                                 maximum=1.0, value=1e-3)
        self.lr.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.lr.setToolTip("AdamW learning rate; 0.001 suits a new head, 0.0001 fine-tuning")
        self.image_size = _spin("imageSizeSpin", 16, 1024, 224, " px")
        self.image_size.setSingleStep(8)
        self.image_size.setToolTip("Images are resized and centre-cropped to this size")
        self.device = QComboBox(objectName="deviceCombo")
        for value, label in available_devices():
            self.device.addItem(label, value)
        self.device_in_use = QLabel("", objectName="deviceInUse", wordWrap=True)
        self.device_in_use.setStyleSheet("color: #555;")
        self.device_in_use.hide()  # until a run says what it uses
        self.seed = _spin("seedSpin", 0, 2**31 - 1, 0)
        self.threads = _spin("threadsSpin", 1, os.cpu_count() or 1, default_threads())
        self.threads.setToolTip("CPU threads for training; one core is left to the window")
        # The core's default, where the CLI writes its runs too; read now, not at import.
        self.runs_dir = QLineEdit(str(default_runs_dir()), objectName="runsFolderEdit")
        self.runs_dir.setToolTip("Each run gets its own folder inside this one")
        browse = QToolButton(text="…")
        browse.clicked.connect(self._browse_runs_dir)
        runs_row = QHBoxLayout()
        runs_row.addWidget(self.runs_dir, 1)
        runs_row.addWidget(browse)

        # Two label/field pairs per row keep all four steps on one screen.
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        pairs = [
            (("Epochs", self.epochs), ("Batch size", self.batch_size)),
            (("Learning rate", self.lr), ("Image size", self.image_size)),
            (("Seed", self.seed), ("CPU threads", self.threads)),
        ]
        for row, pair in enumerate(pairs):
            for column, (text, field) in enumerate(pair):
                grid.addWidget(_label(text, field), row, 2 * column)
                grid.addWidget(field, row, 2 * column + 1)
        grid.addWidget(_label("Device", self.device), 3, 0)
        grid.addWidget(self.device, 3, 1, 1, 3)
        grid.addWidget(self.device_in_use, 4, 1, 1, 3)
        grid.addWidget(_label("Save runs in", self.runs_dir), 5, 0)
        grid.addLayout(runs_row, 5, 1, 1, 3)

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

    def set_device(self, value: str) -> None:
        index = self.device.findData(value)
        self.device.setCurrentIndex(max(index, 0))

    def values(self) -> dict[str, object]:
        """Recipe fields, by name."""
        return {
            "epochs": self.epochs.value(),
            "batch_size": self.batch_size.value(),
            "lr": self.lr.value(),
            "image_size": self.image_size.value(),
            "device": str(self.device.currentData()),
            "seed": self.seed.value(),
            "threads": self.threads.value(),
        }

    def set_values(self, epochs: int, batch_size: int, lr: float, image_size: int | None,
                   device: str, seed: int, threads: int | None) -> None:
        self.epochs.setValue(epochs)
        self.batch_size.setValue(batch_size)
        self.lr.setValue(lr)
        if image_size:
            self.image_size.setValue(image_size)
        self.set_device(device)
        self.seed.setValue(seed)
        self.threads.setValue(threads or default_threads())

    def save_settings(self, settings: QSettings) -> None:
        for key, value in self.values().items():
            settings.setValue(f"training/{key}", value)
        settings.setValue("training/runs_dir", self.runs_dir.text())

    def restore_settings(self, settings: QSettings) -> None:
        def get(key: str, default: object, kind: type) -> object:
            try:
                return kind(settings.value(f"training/{key}", default))
            except (TypeError, ValueError):
                return default

        self.set_values(get("epochs", 5, int), get("batch_size", 32, int), get("lr", 1e-3, float),
                        get("image_size", self.image_size.value(), int),
                        str(get("device", "auto", str)), get("seed", 0, int),
                        get("threads", default_threads(), int))
        self.runs_dir.setText(str(settings.value("training/runs_dir", str(default_runs_dir()))))
