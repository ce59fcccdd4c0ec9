"""One image in detail: the full picture, its top-5 probabilities as bars, a Grad-CAM overlay
that can be toggled (computed off the GUI thread from the run's model), and the buttons that
fix its label. Shared by the prediction gallery and Try images.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from tlstudio.data import UnreadableImage, load_rgb
from tlstudio.errors import SaliencyError
from tlstudio.evaluation import ImageRecord, saliency_views
from tlstudio.gui.gallery.gallery_model import describe, is_labelled
from tlstudio.gui.shared.background import BackgroundJob, TaskState, error_message
from tlstudio.gui.shared.thumbnails import thumbnail_image, to_qimage
from tlstudio.runs import RunFolder, load_model

PICTURE_PX = 384  # the longer side of the picture in the detail view
BAR_COLOUR, TRUE_COLOUR = QColor("#3b82c4"), QColor("#2e9e4f")

_model_lock = threading.Lock()  # one Grad-CAM at a time: it hooks the shared model
_model_cache: dict[tuple[str, float], tuple] = {}


def run_model(run_dir: str):
    """The run's model and info, loaded once per saved weights file (call under the lock)."""
    weights = RunFolder.at(run_dir).model_weights
    key = (str(Path(run_dir).resolve()), weights.stat().st_mtime if weights.exists() else 0.0)
    if key not in _model_cache:
        _model_cache.clear()  # one run's model at a time is enough for a detail view
        _model_cache[key] = load_model(run_dir)
    return _model_cache[key]


def saliency_job(state: TaskState, run_dir: str, path: str,
                 class_name: str) -> tuple[QImage, QImage]:
    """The picture as the model saw it, and with the Grad-CAM of `class_name` on top."""
    try:
        image = load_rgb(path)
    except UnreadableImage as e:
        raise SaliencyError(f"Cannot show saliency for '{Path(path).name}': {e.reason}") from None
    with _model_lock:
        model, info = run_model(run_dir)
        if class_name not in info.classes:
            raise SaliencyError(f"The run's model has no class '{class_name}'")
        view, heat = saliency_views(model, info.image_size, image,
                                    info.classes.index(class_name), PICTURE_PX)
    return to_qimage(view), to_qimage(heat)


def blend(view: QPixmap, heat: QPixmap, opacity: float) -> QPixmap:
    """`heat` over `view` at `opacity` (0: the picture only, 1: the full Grad-CAM overlay)."""
    out = QPixmap(view)
    painter = QPainter(out)
    painter.setOpacity(max(0.0, min(1.0, opacity)))
    painter.drawPixmap(0, 0, heat)
    painter.end()
    return out


def picture_job(state: TaskState, path: str) -> QImage | None:
    return thumbnail_image(path, PICTURE_PX)


class ProbabilityBars(QWidget):
    """Horizontal bars for the top-5 (class, probability); the true class in green."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="topProbabilities")
        self.values: list[tuple[str, float]] = []
        self.true = ""
        self.setMinimumHeight(5 * 22)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, values: list[tuple[str, float]], true: str = "") -> None:
        self.values, self.true = list(values), true
        self.setFixedHeight(max(1, len(values)) * 22 + 4)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(280, 5 * 22 + 4)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        metrics = painter.fontMetrics()
        label_w = min(max((metrics.horizontalAdvance(n) for n, _ in self.values), default=0) + 8,
                      self.width() // 2)
        value_w = metrics.horizontalAdvance("100.0%") + 6
        bar_w = max(10, self.width() - label_w - value_w)
        for i, (name, p) in enumerate(self.values):
            y = 2 + i * 22
            text = metrics.elidedText(name, Qt.TextElideMode.ElideRight, label_w - 6)
            painter.setPen(self.palette().text().color())
            painter.drawText(QRectF(0, y, label_w - 6, 18),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
            painter.fillRect(QRectF(label_w, y + 2, bar_w, 14), self.palette().alternateBase())
            colour = TRUE_COLOUR if name == self.true else BAR_COLOUR
            painter.fillRect(QRectF(label_w, y + 2, bar_w * max(0.0, min(1.0, p)), 14), colour)
            painter.drawText(QRectF(label_w + bar_w + 4, y, value_w, 18),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             f"{p:.1%}")


class ImageDetail(QWidget):
    """The detail panel; the owner decides what the move buttons do."""

    moveRequested = Signal(str)  # the class folder to move the shown image to
    quarantineRequested = Signal()
    undoRequested = Signal()
    saliencyShown = Signal()  # the overlay is on screen (tests, screenshots)

    def __init__(self, parent: QWidget | None = None, relabel: bool = True) -> None:
        super().__init__(parent, objectName="imageDetail")
        self._picture_job = BackgroundJob(self)
        self._picture_job.returned.connect(self._on_picture)
        self._saliency_job = BackgroundJob(self)
        self._saliency_job.returned.connect(self._on_saliency)
        self._saliency_job.errored.connect(self._on_saliency_failed)
        self.record: ImageRecord | None = None
        self.run_dir: str | None = None
        self.saliency_note = "Saliency needs the run folder of the model"
        self._picture: QPixmap | None = None
        self._overlay: QPixmap | None = None  # the Grad-CAM over `_seen`
        self._seen = QPixmap()  # the picture as the model saw it (its crop)
        self._relabel_allowed = True

        self.picture = QLabel(objectName="detailPicture", alignment=Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(240, 240)
        # Ignored: the scaled pixmap follows the label's size, never the other way round.
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setStyleSheet("background: palette(alternate-base); "
                                   "border: 1px solid palette(mid);")
        self.caption = QLabel(objectName="detailCaption", wordWrap=True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bars = ProbabilityBars()
        self.saliency_toggle = QCheckBox("Show saliency (Grad-CAM)", objectName="saliencyToggle")
        self.saliency_toggle.setToolTip("Colour the regions that drove the predicted class "
                                        "(red: strongest), from the last convolutional layer "
                                        "(default: off)")
        self.opacity = QSlider(Qt.Orientation.Horizontal, objectName="saliencyOpacity")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(100)
        self.opacity.setToolTip("How strongly the Grad-CAM colours cover the picture "
                                "(default 100 %)")
        self.opacity.setAccessibleName("Saliency opacity")
        self.opacity.setEnabled(False)
        self.saliency_status = QLabel(objectName="saliencyStatus", wordWrap=True)
        self.saliency_status.setStyleSheet("color: palette(placeholder-text);")
        # A wrapped QLabel is not given the height of its second line by every layout.
        self.saliency_status.setMinimumHeight(2 * self.saliency_status.fontMetrics().height())
        self.move_target = QComboBox(objectName="moveTarget")
        # Nothing is preset: a class left over from the previous image would mislabel this one.
        self.move_target.setPlaceholderText("Choose the right class…")
        self.move_target.setToolTip("The class this image really belongs to (no default)")
        self.move_keys = QLabel(objectName="moveKeys", wordWrap=True)
        self.move_keys.setToolTip("With the gallery focused, a number key moves the selected "
                                  "image into that class")
        self.move_button = QPushButton("Move to class", objectName="moveButton")
        self.move_button.setToolTip("A wrong label: move the file into this class folder")
        self.quarantine_button = QPushButton("Quarantine", objectName="quarantineButton")
        self.quarantine_button.setToolTip("A bad image: move the file out of the dataset, "
                                          "into a quarantine folder beside it")
        self.undo_button = QPushButton("Undo move", objectName="undoButton")
        self.undo_button.setToolTip("Put back the last moved image (Ctrl+Z)")
        self.relabel_box = QWidget(objectName="relabelBox")
        relabel_layout = QGridLayout(self.relabel_box)
        relabel_layout.setContentsMargins(0, 6, 0, 0)
        relabel_layout.addWidget(QLabel("<b>Fix the data</b>"), 0, 0, 1, 3)
        relabel_layout.addWidget(self.move_target, 1, 0, 1, 2)
        relabel_layout.addWidget(self.move_button, 1, 2)
        relabel_layout.addWidget(self.move_keys, 2, 0, 1, 3)
        relabel_layout.addWidget(self.quarantine_button, 3, 0)
        relabel_layout.addWidget(self.undo_button, 3, 2)
        self.relabel_box.setVisible(relabel)

        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.caption)
        layout.addWidget(QLabel("<b>Top probabilities</b>"))
        layout.addWidget(self.bars)
        toggle_row = QHBoxLayout()
        toggle_row.addWidget(self.saliency_toggle)
        toggle_row.addWidget(QLabel("Opacity"))
        toggle_row.addWidget(self.opacity, 1)
        layout.addLayout(toggle_row)
        layout.addWidget(self.saliency_status)
        layout.addWidget(self.relabel_box)

        self.saliency_toggle.toggled.connect(self._on_toggle)
        self.opacity.valueChanged.connect(self._refresh)
        self.move_button.clicked.connect(self._on_move_clicked)
        self.move_target.currentIndexChanged.connect(self._update_move_buttons)
        self.quarantine_button.clicked.connect(self.quarantineRequested)
        self.undo_button.clicked.connect(self.undoRequested)
        self.show_record(None)

    # ---- what the owner sets -------------------------------------------------------------

    def set_model_source(self, run_dir: str | None, note: str = "") -> None:
        """Where Grad-CAM gets its model: a run folder, or None (with why, for the tooltip)."""
        if run_dir != self.run_dir:
            self._overlay = None
            self._saliency_job.cancel()  # its Grad-CAM would be the previous model's
        self.run_dir = run_dir
        if note:
            self.saliency_note = note
        self._update_saliency_enabled()

    def set_classes(self, classes: tuple[str, ...] | list[str]) -> None:
        current = self.move_target.currentText()
        self.move_target.clear()
        self.move_target.addItems(list(classes))
        self.move_target.setCurrentIndex(self.move_target.findText(current))  # -1: none
        keys = [f"{i} → {name}" for i, name in enumerate(classes[:9], start=1)]
        self.move_keys.setText("Keys: " + " · ".join(keys) if keys else "")

    def key_class(self, number: int) -> str | None:
        """The class number key `number` (1-9) moves to, if it may move the shown image."""
        classes = self._classes()
        if not 1 <= number <= min(9, len(classes)) or not self._movable():
            return None
        name = classes[number - 1]
        return None if self.record is None or name == self.record.true else name

    def set_undo_enabled(self, enabled: bool) -> None:
        self.undo_button.setEnabled(enabled)

    def set_relabel_enabled(self, enabled: bool, why_not: str = "") -> None:
        """Allow moves or not (while training), saying why in the tooltip."""
        self.move_target.setEnabled(enabled)
        self.relabel_box.setToolTip("" if enabled else why_not)
        self._relabel_allowed = enabled
        self._update_move_buttons()

    def _movable(self) -> bool:
        return self._relabel_allowed and self.record is not None and is_labelled(self.record)

    def _update_move_buttons(self) -> None:
        movable = self._movable()
        target = self.move_target.currentText()
        chosen = movable and bool(target) and target != self.record.true
        self.move_button.setEnabled(chosen)
        self.move_button.setToolTip(
            "A wrong label: move the file into the chosen class folder" if chosen
            else "Choose the right class first" if movable
            else "Click a labelled image first" if self._relabel_allowed
            else self.relabel_box.toolTip())
        self.quarantine_button.setEnabled(movable)

    def show_record(self, record: ImageRecord | None) -> None:
        same_image = (record is not None and self.record is not None
                      and record.path == self.record.path
                      and record.predicted == self.record.predicted)
        if record is None or self.record is None or record.path != self.record.path:
            self.move_target.setCurrentIndex(-1)
        self.record = record
        if not same_image:
            self._picture = self._overlay = None
            self._cancel_tasks()
        if record is None:
            self.picture.setText("Click an image to see it here")
            self.picture.setPixmap(QPixmap())
            self.caption.clear()
            self.bars.set_values([])
            self.saliency_status.clear()
        else:
            self.caption.setText(describe(record).replace("\n", "<br>"))
            self.bars.set_values(list(record.top5), record.true if is_labelled(record) else "")
            if self._picture is None:
                self._load_picture()
        self._update_move_buttons()
        self._update_saliency_enabled()
        self._refresh()

    def overlay_shown(self) -> bool:
        return self.saliency_toggle.isChecked() and self._overlay is not None

    def cancel(self) -> None:
        self._cancel_tasks()

    # ---- internals -----------------------------------------------------------------------

    def _classes(self) -> list[str]:
        return [self.move_target.itemText(i) for i in range(self.move_target.count())]

    def _update_saliency_enabled(self) -> None:
        possible = self.run_dir is not None
        self.saliency_toggle.setEnabled(possible)
        self.saliency_toggle.setToolTip(
            "Colour the regions that drove the predicted class (red: strongest; default: off)"
            if possible else self.saliency_note)
        if self.saliency_toggle.isChecked() and possible and self.record is not None:
            self._start_saliency()

    def _on_toggle(self, checked: bool) -> None:
        self.opacity.setEnabled(checked)
        if checked:
            self._start_saliency()
        self._refresh()

    def _on_move_clicked(self) -> None:
        if self.move_target.currentText():
            self.moveRequested.emit(self.move_target.currentText())

    def _load_picture(self) -> None:
        assert self.record is not None
        self._picture_job.start(picture_job, self.record.path)

    def _on_picture(self, image: QImage | None) -> None:
        self._picture = QPixmap() if image is None else QPixmap.fromImage(image)
        self._refresh()

    def _start_saliency(self) -> None:
        if self._overlay is not None or self.record is None or self.run_dir is None:
            return
        if self._saliency_job.is_running():
            return  # already on its way
        self.saliency_status.setText("Computing saliency…")
        self._saliency_job.start(saliency_job, self.run_dir, self.record.path,
                                 self.record.predicted)

    def _on_saliency(self, images: tuple[QImage, QImage]) -> None:
        self._seen = QPixmap.fromImage(images[0])
        self._overlay = QPixmap.fromImage(images[1])
        self.saliency_status.setText(
            f"Grad-CAM of '{self.record.predicted}': red marks the strongest evidence")
        self._refresh()
        if self.overlay_shown():
            self.saliencyShown.emit()

    def _on_saliency_failed(self, error: Exception) -> None:
        self.saliency_status.setText(error_message(error))

    def _cancel_tasks(self) -> None:
        self._picture_job.cancel()
        self._saliency_job.cancel()

    def _refresh(self) -> None:
        if self.record is None:
            return
        shown = (blend(self._seen, self._overlay, self.opacity.value() / 100)
                 if self.overlay_shown() else self._picture)
        if shown is None:
            self.picture.setText("Loading…")
        elif shown.isNull():
            self.picture.setText("This file cannot be read as an image")
        else:
            size = self.picture.size()
            self.picture.setPixmap(shown.scaled(
                size.width() - 4, size.height() - 4, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._refresh()
