"""A grid of augmented versions of one training image, so the user sees what the model sees.

The images are made by the core's `preview_augmentations` in a background task; a burst of
control changes makes one refresh (debounced), and "Shuffle" draws new random ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tlstudio.data.augment import preview_augmentations
from tlstudio.data.images import load_rgb
from tlstudio.gui.shared.background import BackgroundJob, TaskState, error_message
from tlstudio.gui.shared.palette_colours import muted_text

COLUMNS, ROWS = 4, 2
TILE = 76  # px on screen; the images are made at the training size and scaled down
DEBOUNCE_MS = 250


def preview_job(state: TaskState, path: str, image_size: int, preset: str,
                options: dict[str, Any], n: int, seed: int) -> list[QImage]:
    """Decode `path` and augment it n times; QImages (not pixmaps) are safe off the GUI thread."""

    samples = preview_augmentations(load_rgb(path), image_size, preset, options, n=n, seed=seed)
    images = []
    for sample in samples:
        if state.cancelled():
            break
        rgb = sample.convert("RGB")
        data = rgb.tobytes()
        image = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
        images.append(image.copy())  # own the pixels: `data` goes away with this frame
    return images


class AugmentPreview(QWidget):
    """The grid, a Shuffle button, and a caption naming the image shown."""

    previewReady = Signal(int)  # how many tiles were filled

    def __init__(self, settings_fn, parent: QWidget | None = None) -> None:
        """`settings_fn()` gives (preset, options) as the controls say now."""
        super().__init__(parent, objectName="augmentPreview")
        self._settings_fn = settings_fn
        self._path: str | None = None
        self._image_size = 224
        self._seed = 0
        self._job = BackgroundJob(self)
        self._job.returned.connect(self._show)
        self._job.errored.connect(self._failed)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh)
        self.tiles: list[QLabel] = []
        grid = QGridLayout()
        grid.setSpacing(3)
        for i in range(COLUMNS * ROWS):
            tile = QLabel(objectName=f"previewTile{i}")
            tile.setFixedSize(TILE, TILE)
            tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
            tile.setStyleSheet("background:#eee; border:1px solid #ddd;")
            grid.addWidget(tile, i // COLUMNS, i % COLUMNS)
            self.tiles.append(tile)
        self.caption = QLabel("Scan a training folder to preview augmentation",
                              objectName="previewCaption", wordWrap=True)
        self.caption.setStyleSheet(f"color:{muted_text()};")
        self.shuffle_button = QPushButton("Shuffle", objectName="shuffleButton")
        self.shuffle_button.setToolTip("Draw new random augmentations of the same image")
        self.shuffle_button.clicked.connect(self.shuffle)
        self.pick_button = QPushButton("Image…", objectName="pickPreviewImageButton")
        self.pick_button.setToolTip("Preview another training image")
        self.pick_button.clicked.connect(self.pick_image)
        row = QHBoxLayout()
        row.addWidget(self.caption, 1)
        row.addWidget(self.pick_button)
        row.addWidget(self.shuffle_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addLayout(row)
        self._update_enabled()

    def set_image(self, path: str | None) -> None:
        self._path = path
        self._update_enabled()
        self.schedule_refresh()

    def pick_image(self) -> None:
        start = str(Path(self._path).parent) if self._path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Image to preview", start,
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif "
                                              "*.tiff *.webp);;All files (*)")
        if path:
            self.set_image(path)

    def set_image_size(self, size: int) -> None:
        if size != self._image_size:
            self._image_size = size
            self.schedule_refresh()

    def shuffle(self) -> None:
        self._seed += 1
        self.refresh()

    def schedule_refresh(self) -> None:
        """Refresh once the controls have been still for a moment."""
        self._timer.start()

    def refresh(self) -> None:
        self._timer.stop()
        if self._path is None:
            return
        self.cancel()
        preset, options = self._settings_fn()
        self._job.start(preview_job, self._path, self._image_size, preset, options,
                        len(self.tiles), self._seed)
        self.caption.setText(f"{_name(self._path)} · {preset} · making previews…")

    def cancel(self) -> None:
        self._timer.stop()
        self._job.cancel()

    def _show(self, images: list[QImage]) -> None:
        for tile, image in zip(self.tiles, images, strict=False):
            pixmap = QPixmap.fromImage(image).scaled(
                TILE - 2, TILE - 2, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation)
            tile.setPixmap(pixmap)
        preset, _ = self._settings_fn()
        self.caption.setText(f"{_name(self._path)} · {preset}")
        self.previewReady.emit(len(images))

    def _failed(self, error: Exception) -> None:
        self.caption.setText(f"No preview: {error_message(error)}")

    def filled_tiles(self) -> int:
        return sum(1 for tile in self.tiles if tile.pixmap() is not None
                   and not tile.pixmap().isNull())

    def _update_enabled(self) -> None:
        self.shuffle_button.setEnabled(self._path is not None)


def _name(path: str | None) -> str:
    return Path(path).name if path else ""
