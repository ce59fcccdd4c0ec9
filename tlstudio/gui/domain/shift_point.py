"""The image behind a clicked point of the domain-shift map: its picture (decoded off the GUI
thread), its path, whether it is a training or a target image, and the predicted class."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from tlstudio.domain import MapPoint
from tlstudio.gui.shared.background import BackgroundJob, TaskState
from tlstudio.gui.shared.thumbnails import thumbnail_image

PICTURE_PX = 200
EMPTY = "Click a dot on the map to see its image here"


def picture_job(_state: TaskState, path: str) -> QImage | None:
    return thumbnail_image(path, PICTURE_PX)


def describe_point(point: MapPoint) -> str:
    """The point in words: which images it belongs to and what the model makes of it."""
    kind = (
        f"Training image of class <b>{escape(point.true)}</b>"
        if point.domain == "source"
        else "Target image"
    )
    return (
        f"{kind}<br>Predicted: <b>{escape(point.predicted)}</b> "
        f"({point.confidence:.0%})<br><span style='font-size:small'>"
        f"{escape(point.path)}</span>"
    )


class ShiftPoint(QWidget):
    """`shiftPointPicture` and `shiftPointCaption` for one map point."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="shiftPoint")
        self.point: MapPoint | None = None
        self._job = BackgroundJob(self)
        self._job.returned.connect(self._on_picture)
        self.picture = QLabel(
            EMPTY,
            objectName="shiftPointPicture",
            wordWrap=True,
            alignment=Qt.AlignmentFlag.AlignCenter,
        )
        self.picture.setMinimumSize(PICTURE_PX // 2, PICTURE_PX // 2)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setStyleSheet(
            "background: palette(alternate-base); border: 1px solid palette(mid);"
        )
        self.caption = QLabel(objectName="shiftPointCaption", wordWrap=True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.caption)
        self._pixmap = QPixmap()

    def show_point(self, point: MapPoint | None) -> None:
        self.point = point
        self._job.cancel()
        self._pixmap = QPixmap()
        self.picture.setPixmap(QPixmap())
        if point is None:
            self.picture.setText(EMPTY)
            self.caption.clear()
            return
        self.picture.setText("Loading…")
        self.caption.setText(describe_point(point))
        self.caption.setToolTip(point.path)
        self._job.start(picture_job, point.path)

    def cancel(self) -> None:
        self._job.cancel()

    def _on_picture(self, image: QImage | None) -> None:
        if image is None:
            self.picture.setText("This image cannot be read any more")
            return
        self._pixmap = QPixmap.fromImage(image)
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if not self._pixmap.isNull():
            self.picture.setPixmap(
                self._pixmap.scaled(
                    self.picture.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
