"""Step 2, the backbone: the catalog with parameters, input size and where weights come from.

Weights that must be downloaded can be fetched here, with progress and Cancel, or replaced by a
local weights file; a backbone without either is marked in the list and cannot train.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSettings, QStringListModel, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tlstudio.errors import TlstudioError
from tlstudio.gui.shared.background import BackgroundJob, TaskState, error_message
from tlstudio.gui.shared.palette_colours import note_style
from tlstudio.gui.sidebar.weights_file import WeightsFileEdit
from tlstudio.models import TIMM_PREFIX, get_spec, is_timm_name, pretrained_models
from tlstudio.models.catalog import backbone_row, backbone_rows
from tlstudio.models.weights import download_weights

DEFAULT_BACKBONE = "tf_efficientnet_lite0"

WEIGHTS_TEXT = {
    "bundled": "Pretrained ImageNet weights are bundled: works offline.",
    "cached": "Pretrained ImageNet weights are downloaded and cached on this computer.",
    "download": "Pretrained ImageNet weights must be downloaded once (internet needed). "
                "Download now, or training downloads them first.",
    "none": "No pretrained weights exist for this backbone: it starts from random weights. "
            "Fine for quick tests; expect poor accuracy on real photos.",
}
WEIGHTS_SHORT = {"bundled": "bundled", "cached": "cached", "download": "not downloaded",
                 "none": "no weights"}
NOT_HERE_TIP = ("Its pretrained weights are not on this computer: download them once "
                "(internet needed) or choose a weights file.")


def format_params(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} M"
    if n >= 1_000:
        return f"{n / 1e3:.0f} k"
    return str(n)


def download_job(state: TaskState, name: str) -> str:
    return str(download_weights(get_spec(name), state.progress, state.cancelled))


class BackbonePanel(QWidget):
    """The backbone combo and its weights; `backboneChanged(name)` when the choice changes."""

    backboneChanged = Signal(str)
    downloadFailed = Signal(str)
    weightsChanged = Signal()  # a download ended or the weights file changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._download = BackgroundJob(self)
        self._download.progress.connect(self._on_progress)
        self._download.returned.connect(self._on_downloaded)
        self._download.errored.connect(self._on_failed)
        self.rows: dict[str, dict[str, Any]] = {r["name"]: r for r in backbone_rows()}
        self.combo = QComboBox(objectName="backboneCombo")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(18)
        self.combo.setToolTip(f"The pretrained network to start from: parameters, input size "
                              f"and where its weights come from (default: {DEFAULT_BACKBONE}, "
                              "bundled: works offline)")
        for name, row in self.rows.items():
            self.combo.addItem(name, name)
            self._describe_item(self.combo.count() - 1, row)
        self.timm_search = QLineEdit(objectName="timmSearch", clearButtonEnabled=True)
        self.timm_search.setPlaceholderText("Any timm model: type to search, Enter to add")
        self.timm_search.setToolTip("Every timm model with pretrained weights on the Hugging "
                                    "Face hub, e.g. timm:convnext_small.fb_in22k; Enter adds "
                                    "it to the list (default: empty)")
        self._names = QStringListModel(self)
        completer = QCompleter(self._names, self.timm_search)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.timm_search.setCompleter(completer)
        self.timm_search.returnPressed.connect(self._add_timm_model)
        self.details = QLabel(objectName="backboneDetails", wordWrap=True)
        self.weights_label = QLabel(objectName="weightsLabel", wordWrap=True)
        self.download_button = QPushButton("Download weights", objectName="downloadButton")
        self.cancel_button = QPushButton("Cancel", objectName="cancelDownloadButton")
        self.download_progress = QProgressBar(objectName="downloadProgress")
        self.download_button.setToolTip("Download the pretrained weights once into this "
                                        "computer's cache (internet needed)")
        self.cancel_button.setToolTip("Stop the download; nothing is kept")
        self.weights_file = WeightsFileEdit()
        self._build_layout()
        self.combo.currentIndexChanged.connect(self._changed)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.weights_file.changed.connect(self._weights_file_changed)
        self.set_backbone(DEFAULT_BACKBONE)
        self._show_details()

    def _build_layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.download_button)
        row.addWidget(self.download_progress, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.combo)
        layout.addWidget(self.timm_search)
        layout.addWidget(self.details)
        layout.addWidget(self.weights_label)
        layout.addLayout(row)
        layout.addWidget(self.weights_file)

    def _describe_item(self, index: int, row: dict[str, Any]) -> None:
        """Name, size and weights source; greyed, with a tooltip, when not usable offline."""
        missing = row["weights"] == "download"
        self.combo.setItemText(
            index, f"{row['name']}  ·  {format_params(row['parameters'])}  ·  "
                   f"{row['input_size']} px  ·  " + (
                       f"({WEIGHTS_SHORT['download']})" if missing
                       else WEIGHTS_SHORT[row["weights"]]))
        tip = row["description"] + (f"\n{NOT_HERE_TIP}" if missing else "")
        self.combo.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        grey = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        self.combo.setItemData(index, grey if missing else None,
                               Qt.ItemDataRole.ForegroundRole)

    # ---- what the window reads ----------------------------------------------------------

    def backbone(self) -> str:
        return str(self.combo.currentData())

    def weights_path(self) -> str | None:
        """The chosen weights file, or None for the backbone's own weights."""
        return self.weights_file.path() or None

    def missing_weights(self) -> str | None:
        """Why the chosen backbone cannot train with pretrained weights here; None if it can."""
        path = self.weights_path()
        if path is not None and not os.path.isfile(os.path.expanduser(path)):
            return f"The weights file '{path}' does not exist: choose it again (Weights file…)"
        if self.rows[self.backbone()]["weights"] != "download" or path:
            return None
        return (f"The pretrained weights of {self.backbone()} are not on this computer: click "
                "Download weights (internet needed) or choose a weights file in step 2")

    def input_size(self) -> int:
        return int(self.rows[self.backbone()]["input_size"])

    def set_backbone(self, name: str) -> bool:
        index = self.combo.findData(name)
        if index < 0 and is_timm_name(name):
            index = self._add_row(name)
        if index < 0:
            return False
        self.combo.setCurrentIndex(index)
        return True

    def _add_row(self, name: str) -> int:
        """Add a timm model to the list; its index, or -1 when timm has no such weights."""
        try:
            self.rows[name] = backbone_row(get_spec(name))
        except TlstudioError:
            return -1
        self.combo.addItem(name, name)
        self._describe_item(self.combo.count() - 1, self.rows[name])
        return self.combo.count() - 1

    def _add_timm_model(self) -> None:
        text = self.timm_search.text().strip()
        name = text if is_timm_name(text) else TIMM_PREFIX + text
        if self.set_backbone(name):
            self.timm_search.clear()
        else:
            self.timm_search.setToolTip(f"'{text}' is not a timm model with pretrained weights")

    def showEvent(self, event: Any) -> None:
        if not self._names.rowCount():  # the ~1,800 names, once the panel is first seen
            self._names.setStringList([name for name, _ in pretrained_models()])
        super().showEvent(event)

    # ---- display ------------------------------------------------------------------------

    def _changed(self) -> None:
        self.cancel_download()
        self.weights_file.set_path(None)  # a weights file belongs to the backbone it was for
        self._show_details()
        self.backboneChanged.emit(self.backbone())
        self.weightsChanged.emit()

    def _weights_file_changed(self, _path: str) -> None:
        self._show_details()
        self.weightsChanged.emit()

    def _show_details(self) -> None:
        row = self.rows[self.backbone()]
        self.details.setText(
            f"{row['description']}<br><small>{row['parameters']:,} parameters · input "
            f"{row['input_size']}×{row['input_size']} px</small>")
        from_file = self.weights_path() is not None
        self.weights_label.setText("Weights from the chosen file (instead of the backbone's "
                                   "own)." if from_file else WEIGHTS_TEXT[row["weights"]])
        warn = row["weights"] in ("download", "none") and not from_file
        self.weights_label.setStyleSheet(note_style("warning" if warn else "info"))
        self._show_download_controls(downloading=self._download.is_running())

    def _show_download_controls(self, downloading: bool) -> None:
        needs = self.rows[self.backbone()]["weights"] == "download"
        self.download_button.setVisible(needs and not downloading)
        self.download_progress.setVisible(downloading)
        self.cancel_button.setVisible(downloading)

    # ---- download -----------------------------------------------------------------------

    def start_download(self) -> None:
        if self._download.is_running():
            return
        self.download_progress.setRange(0, 0)
        self._show_download_controls(downloading=True)
        self._download.start(download_job, self.backbone())

    def cancel_download(self) -> None:
        self._download.cancel()
        self._show_download_controls(downloading=False)

    def cancel(self) -> None:
        self._download.cancel()

    def _on_progress(self, done: int, total: int) -> None:
        if total:
            self.download_progress.setRange(0, 1000)
            self.download_progress.setValue(int(1000 * done / total))
            self.download_progress.setFormat(f"{done / 1e6:.0f} / {total / 1e6:.0f} MB")

    def _on_downloaded(self, _path: str) -> None:
        name = self.backbone()
        self.rows[name] = {**self.rows[name], "weights": "cached"}
        self._describe_item(self.combo.currentIndex(), self.rows[name])
        self._show_details()
        self.weightsChanged.emit()

    def _on_failed(self, error: Exception) -> None:
        self._show_download_controls(downloading=False)
        self.downloadFailed.emit(error_message(error))

    # ---- settings -----------------------------------------------------------------------

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("backbone/name", self.backbone())
        settings.setValue("backbone/weights", self.weights_file.path())

    def restore_settings(self, settings: QSettings) -> None:
        self.set_backbone(str(settings.value("backbone/name", DEFAULT_BACKBONE)))
        self.weights_file.set_path(str(settings.value("backbone/weights", "") or ""))
