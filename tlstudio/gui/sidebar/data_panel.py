"""Step 1, the data: training and validation folders, scanned in the background.

The scan is the core's `scan_folder`; a new folder cancels the scan of the previous one.
A folder holding train/ and val/ folders (the core's `resolve_data_folders`) is used as those
two.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGridLayout,
    QLabel,
    QProgressBar,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from tlstudio.data import (
    DataFolders,
    DatasetScan,
    resolve_data_folders,
    scan_folder,
    short_sides,
)
from tlstudio.gui.shared.background import BackgroundJob, TaskState, error_message
from tlstudio.gui.sidebar.folder_edit import FolderEdit
from tlstudio.gui.sidebar.setting_controls import percent_spin, read_percent, setting_tooltip
from tlstudio.gui.sidebar.target_panel import TargetPanel


@dataclass(frozen=True)
class ScannedData:
    """A finished scan of the training folder and, if given, the validation folder."""

    train: DatasetScan
    val: DatasetScan | None
    layout: DataFolders | None = None  # the chosen folder held train/ (and val/): scanned those
    sides: tuple[int, ...] = ()  # the shorter side of a sample of the training images, px


def scan_job(state: TaskState, train_dir: str, val_dir: str | None) -> ScannedData:
    """Scan both folders; validation labels follow the training classes.

    A training folder holding train/ and val/ folders is scanned as those two instead (the
    core's `resolve_data_folders`, as `fit` and the CLI do).
    """
    folders = resolve_data_folders(train_dir, val_dir)
    layout = folders if folders.note is not None else None
    train_dir, val_dir = folders.train_dir, folders.val_dir
    train = scan_folder(train_dir, progress=state.progress, cancel=state.cancelled)
    val = None
    if val_dir:
        val = scan_folder(val_dir, classes=train.classes, progress=state.progress,
                          cancel=state.cancelled)
    return ScannedData(train, val, layout, short_sides(train))


class DataPanel(QWidget):
    """Folders and validation choice; emits the scan when it is ready."""

    scanStarted = Signal()
    scanned = Signal(object)  # ScannedData
    scanFailed = Signal(str)  # a message for the user
    splitFound = Signal(str)  # the chosen folder held train/ and val/: what is used instead
    splitChanged = Signal(float)  # the fraction of each class held out for validation
    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scan = BackgroundJob(self)
        self._scan.progress.connect(self._on_progress)
        self._scan.returned.connect(self._on_scanned)
        self._scan.errored.connect(self._on_failed)
        self.data: ScannedData | None = None

        self.train_folder = FolderEdit("trainFolderEdit", "One subfolder per class",
                                       "Choose the training folder")
        self.val_folder = FolderEdit("valFolderEdit", "Same class subfolders",
                                     "Choose the validation folder")
        self.train_folder.edit.setToolTip(setting_tooltip("data_dir"))
        self.val_folder.edit.setToolTip(setting_tooltip("val_dir"))
        self.split_radio = QRadioButton("Hold out", objectName="holdOutRadio")
        self.split_radio.setToolTip("Validate on a share of each class's images, set beside "
                                    "it (default)")
        self.folder_radio = QRadioButton("Folder", objectName="valFolderRadio")
        self.folder_radio.setToolTip("Validate on a separate folder with the same class "
                                     "subfolders (default: off, hold out instead)")
        self.split_spin = percent_spin("val_split", " % of each class")
        group = QButtonGroup(self)
        group.addButton(self.split_radio)
        group.addButton(self.folder_radio)
        self.split_radio.setChecked(True)
        self.scan_progress = QProgressBar(objectName="scanProgress", textVisible=False)
        self.scan_progress.setMaximumHeight(6)
        self.scan_progress.hide()
        self.summary = QLabel(objectName="dataSummary", wordWrap=True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setText("No folder chosen yet.")
        self.target = TargetPanel()  # optional: images to adapt to (cross-domain transfer)
        self._build_layout()

        self.train_folder.chosen.connect(self.rescan)
        self.val_folder.chosen.connect(self._val_chosen)
        self.folder_radio.toggled.connect(self._val_mode_changed)
        self.split_spin.valueChanged.connect(self._split_changed)
        self._update_enabled()

    def _build_layout(self) -> None:
        validation = QGridLayout()
        validation.setColumnStretch(1, 1)
        validation.addWidget(self.split_radio, 0, 0)
        validation.addWidget(self.split_spin, 0, 1)
        validation.addWidget(self.folder_radio, 1, 0)
        validation.addWidget(self.val_folder, 1, 1)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Training folder", self.train_folder)
        form.addRow("Validation", validation)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addWidget(self.scan_progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.target)

    # ---- state the window reads -------------------------------------------------------

    def train_dir(self) -> str:
        return self.train_folder.path()

    def val_dir(self) -> str | None:
        return (self.val_folder.path() or None) if self.folder_radio.isChecked() else None

    def val_split(self) -> float:
        return read_percent(self.split_spin)

    def is_scanning(self) -> bool:
        return self._scan.is_running()

    def set_folders(self, train_dir: str, val_dir: str | None = None,
                    val_split: float = 0.2) -> None:
        """Fill every field at once (recipe, settings, demo) and scan once."""
        self.split_spin.setValue(val_split * 100)
        self._show_folders(train_dir, val_dir)
        self.rescan()

    def _show_folders(self, train_dir: str, val_dir: str | None) -> None:
        """Show these folders without scanning them."""
        self.folder_radio.blockSignals(True)
        self.folder_radio.setChecked(bool(val_dir))
        self.split_radio.setChecked(not val_dir)
        self.folder_radio.blockSignals(False)
        self._update_enabled()
        self.val_folder.edit.setText(val_dir or "")
        self.val_folder._last = val_dir or ""
        self.train_folder.edit.setText(train_dir)
        self.train_folder._last = train_dir

    # ---- scanning -----------------------------------------------------------------------

    def rescan(self) -> None:
        self._scan.cancel()
        self.data = None
        train = self.train_dir()
        if not train:
            self.scan_progress.hide()
            self.summary.setText("No folder chosen yet.")
            self.cleared.emit()
            return
        self.scan_progress.setRange(0, 0)
        self.scan_progress.show()
        self.summary.setText("Scanning…")
        self.scanStarted.emit()
        self._scan.start(scan_job, train, self.val_dir())

    def cancel(self) -> None:
        self._scan.cancel()

    def _on_progress(self, done: int, total: int) -> None:
        self.scan_progress.setRange(0, max(total, 1))
        self.scan_progress.setValue(done)

    def _on_scanned(self, data: ScannedData) -> None:
        self.data = data
        self.scan_progress.hide()
        self.summary.setText(describe(data))
        if data.layout is not None:
            # The fields say what is trained from now on; a rescan scans train/ directly.
            self._show_folders(data.layout.train_dir, data.layout.val_dir)
            self.summary.setText(f"{data.layout.note}.\n{describe(data)}")
            self.splitFound.emit(f"{data.layout.note}.")
        self.scanned.emit(data)

    def _on_failed(self, error: Exception) -> None:
        self.scan_progress.hide()
        self.summary.setText("This folder cannot be used: see the message on the right.")
        self.scanFailed.emit(error_message(error))

    def _split_changed(self) -> None:
        self.splitChanged.emit(self.val_split())

    def _val_chosen(self, _path: str) -> None:
        if self.folder_radio.isChecked():
            self.rescan()

    def _update_enabled(self) -> None:
        separate = self.folder_radio.isChecked()
        self.val_folder.setEnabled(separate)
        self.split_spin.setEnabled(not separate)

    def _val_mode_changed(self) -> None:
        self._update_enabled()
        if self.train_dir() and (self.val_folder.path() or not self.folder_radio.isChecked()):
            self.rescan()

    # ---- settings -----------------------------------------------------------------------

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("data/train", self.train_dir())
        settings.setValue("data/val", self.val_folder.path())
        settings.setValue("data/separate_val", self.folder_radio.isChecked())
        settings.setValue("data/split", self.split_spin.value())
        self.target.save_settings(settings)

    def restore_settings(self, settings: QSettings) -> None:
        train = str(settings.value("data/train", "") or "")
        val = str(settings.value("data/val", "") or "")
        separate = str(settings.value("data/separate_val", "false")).lower() == "true"
        split = float(settings.value("data/split", 20))
        self.target.restore_settings(settings)
        self.val_folder.edit.setText(val)
        self.val_folder._last = val
        if train and os.path.isdir(train):
            self.set_folders(train, val if separate else None, split / 100.0)
        else:
            self.split_spin.setValue(split)
            self.folder_radio.blockSignals(True)
            self.folder_radio.setChecked(separate)
            self.split_radio.setChecked(not separate)
            self.folder_radio.blockSignals(False)
            self._update_enabled()


def describe(data: ScannedData) -> str:
    train = data.train
    text = f"{len(train.classes)} classes, {len(train):,} images"
    if data.val is not None:
        text += f"; validation {len(data.val):,} images"
    skipped = len(train.skipped) + (len(data.val.skipped) if data.val else 0)
    if skipped:
        text += f"; {skipped:,} files skipped (see the Data tab)"
    return text
