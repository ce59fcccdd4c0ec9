"""The Data tab: the first-step invitation, then class counts, thumbnails and skipped files.

Thumbnails are decoded off the GUI thread (QImage is thread-safe; QPixmap is made here).
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tlstudio.data import DatasetScan, load_rgb, small_images_warning, split_counts
from tlstudio.filenames import printable
from tlstudio.gui.shared.background import BackgroundJob, TaskState
from tlstudio.gui.shared.palette_colours import base_colour, message_colours
from tlstudio.gui.shared.plot_style import style_axes
from tlstudio.gui.sidebar.data_panel import ScannedData

THUMBS_PER_CLASS = 8
THUMB_PX = 64
TRAIN_BRUSH = "#3b82c4"
VAL_BRUSH = "#f0a030"


def thumbnail_job(state: TaskState, scan: DatasetScan) -> None:
    """Yield (class index, [QImage]) per class, a few images each."""
    by_class: dict[int, list[str]] = {}
    for path, label in scan.samples:
        paths = by_class.setdefault(label, [])
        if len(paths) < THUMBS_PER_CLASS:
            paths.append(path)
    for label, paths in sorted(by_class.items()):
        if state.cancelled():
            return
        images = []
        for path in paths:
            image = load_rgb(path)
            image.thumbnail((THUMB_PX, THUMB_PX))
            data = image.tobytes()
            qimage = QImage(data, image.width, image.height, 3 * image.width,
                            QImage.Format.Format_RGB888).copy()  # own the pixels
            images.append(qimage)
        state.yield_((label, images))


class EmptyState(QWidget):
    """What a new user sees first: one clear thing to do."""

    chooseFolder = Signal()
    tryDemo = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Choose a training folder: one subfolder per class")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        title.setFont(font)
        hint = QLabel("For example photos/cats/*.jpg and photos/dogs/*.jpg.\n"
                      "You can also drop a folder anywhere on this window.")
        hint.setStyleSheet("color: palette(placeholder-text);")
        choose = QPushButton("Choose training folder…", objectName="chooseFolderButton")
        choose.setMinimumSize(260, 44)
        choose.setToolTip("Choose the folder with one subfolder of images per class (Ctrl+O)")
        choose.setStyleSheet("QPushButton { background:#2f6fb0; color:white; font-weight:bold;"
                             " font-size:11pt; border-radius:6px; padding:0 18px; }")
        demo = QPushButton("Try the demo digits", objectName="demoButton", flat=True)
        demo.setToolTip("Use ten classes of small handwritten digits, written to your "
                        "computer, to see a whole run in a minute")
        for label in (title, hint):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(title)
        layout.addSpacing(8)
        layout.addWidget(hint)
        layout.addSpacing(20)
        layout.addWidget(choose, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(demo, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)
        choose.clicked.connect(self.chooseFolder)
        demo.clicked.connect(self.tryDemo)


class ClassCountChart(pg.PlotWidget):
    """Horizontal bars of images per class, training and validation side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=base_colour())
        self.setObjectName("classCountChart")
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMenuEnabled(False)
        style_axes(self.getPlotItem())
        self.getPlotItem().setLabel("bottom", "images")
        self.getPlotItem().showGrid(x=True, alpha=0.2)
        self.getPlotItem().invertY(True)
        self.counts: dict[str, int] = {}
        self.split: tuple[dict[str, int], dict[str, int]] = ({}, {})

    def show_counts(self, train: dict[str, int], val: dict[str, int] | None,
                    folder: dict[str, int] | None = None) -> None:
        """Bars of `train` and `val` images per class; `counts` keeps the training folder's
        (`folder`, when a hold-out split makes `train` fewer)."""
        self.clear()
        self.counts = dict(folder or train)
        self.split = (dict(train), dict(val or {}))
        names = list(train)
        ys = list(range(len(names)))
        height = 0.38 if val else 0.7
        offset = height / 2 if val else 0.0
        self.addItem(pg.BarGraphItem(x0=0, y=[y - offset for y in ys], height=height,
                                     width=list(train.values()), brush=TRAIN_BRUSH, pen=None))
        if val:
            self.addItem(pg.BarGraphItem(x0=0, y=[y + offset for y in ys], height=height,
                                         width=[val.get(n, 0) for n in names],
                                         brush=VAL_BRUSH, pen=None))
        self.getAxis("left").setTicks([list(zip(ys, names, strict=True))])
        top = max([*train.values(), *(val or {}).values(), 1])
        self.setXRange(0, top * 1.05, padding=0)
        self.setYRange(-0.6, len(names) - 0.4, padding=0)


class ThumbnailStrips(QScrollArea):
    """One row per class: its name and a few of its images."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thumbnailStrips")
        self.setWidgetResizable(True)
        self._inner = QWidget()
        self._grid = QGridLayout(self._inner)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._grid.setHorizontalSpacing(4)
        self.setWidget(self._inner)
        self.thumbnail_count = 0
        self.class_labels: dict[str, QLabel] = {}

    def set_classes(self, classes: tuple[str, ...], counts: dict[str, int]) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.thumbnail_count = 0
        self.class_labels: dict[str, QLabel] = {}
        for row, name in enumerate(classes):
            label = QLabel(f"<b>{name}</b><br><small>{counts.get(name, 0):,} images</small>")
            label.setMinimumWidth(90)
            self._grid.addWidget(label, row, 0)
            self.class_labels[name] = label

    def show_split(self, train: dict[str, int], val: dict[str, int]) -> None:
        """Each class's images as they train and validate."""
        for name, label in self.class_labels.items():
            label.setText(f"<b>{name}</b><br><small>{train[name]:,} train<br>"
                          f"{val.get(name, 0):,} validate</small>")

    def add_thumbnails(self, row: int, images: list[QImage]) -> None:
        for column, image in enumerate(images, start=1):
            tile = QLabel()
            tile.setFixedSize(THUMB_PX, THUMB_PX)
            tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
            tile.setPixmap(QPixmap.fromImage(image).scaled(
                THUMB_PX, THUMB_PX, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))
            tile.setStyleSheet("background: palette(alternate-base); "
                               "border: 1px solid palette(mid);")
            self._grid.addWidget(tile, row, column)
            self.thumbnail_count += 1


class SkippedTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 2, parent)
        self.setObjectName("skippedTable")
        self.setHorizontalHeaderLabels(["Skipped file", "Why"])
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)

    def show_skipped(self, root: str, skipped: list) -> None:
        self.setRowCount(len(skipped))
        for row, item in enumerate(skipped):
            try:
                shown = str(Path(item.path).relative_to(root))
            except ValueError:
                shown = item.path
            # Qt silently drops bytes that are not UTF-8 from a name: show them as \xNN.
            path_item = QTableWidgetItem(printable(shown))
            path_item.setToolTip(printable(item.path))
            self.setItem(row, 0, path_item)
            self.setItem(row, 1, QTableWidgetItem(item.reason))


class DatasetView(QStackedWidget):
    """Page 0: the empty state; page 1: what the scan found."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._thumbnail_job = BackgroundJob(self)
        self._thumbnail_job.yielded.connect(self._on_thumbnails)
        self.empty = EmptyState()
        self.title = QLabel(objectName="datasetTitle", wordWrap=True)
        self.size_warning = QLabel(objectName="smallImagesWarning", wordWrap=True)
        self.size_warning.hide()
        self.data: ScannedData | None = None
        self.val_split, self.image_size = 0.2, 224  # the window says what the steps say
        self.chart = ClassCountChart()
        self.thumbnails = ThumbnailStrips()
        self.skipped = SkippedTable()
        self.skipped_label = QLabel()
        self.addWidget(self.empty)
        self.addWidget(self._content())

    def _content(self) -> QWidget:
        page = QWidget()
        splitter = QSplitter(Qt.Orientation.Vertical)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.chart)
        top.addWidget(self.thumbnails)
        top.setSizes([420, 620])
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.skipped_label)
        bottom_layout.addWidget(self.skipped)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setSizes([480, 180])
        self._splitter = splitter
        layout = QVBoxLayout(page)
        layout.addWidget(self.title)
        layout.addWidget(self.size_warning)
        layout.addWidget(splitter, 1)
        return page

    def show_empty(self) -> None:
        self.cancel()
        self.setCurrentIndex(0)

    def show_data(self, data: ScannedData, val_split: float | None = None,
                  image_size: int | None = None) -> None:
        self.cancel()
        self.data = data
        self.val_split = self.val_split if val_split is None else val_split
        self.image_size = self.image_size if image_size is None else image_size
        train, val = data.train, data.val
        self.thumbnails.set_classes(train.classes, train.counts())
        self._show_counts()
        self._show_size_warning()
        skipped = list(train.skipped) + (list(val.skipped) if val is not None else [])
        self.skipped.show_skipped(train.root, skipped)
        self.skipped_label.setText(
            f"{len(skipped):,} files skipped" if skipped else "No files skipped: every file "
            "inside the class folders is a readable image.")
        self.skipped.setVisible(bool(skipped))
        self._splitter.setSizes([480, 180] if skipped else [10_000, 1])
        self.setCurrentIndex(1)
        self._thumbnail_job.start(thumbnail_job, train)

    def set_val_split(self, fraction: float) -> None:
        """The held-out fraction changed: the counts show the split it will make."""
        self.val_split = fraction
        if self.data is not None:
            self._show_counts()

    def set_image_size(self, size: int) -> None:
        self.image_size = size
        if self.data is not None:
            self._show_size_warning()

    def _show_counts(self) -> None:
        """Per class, how many images train and how many validate (a validation folder's
        own, or the hold-out that training will make)."""
        train, val = self.data.train, self.data.val
        if val is not None:
            train_counts, val_counts = train.counts(), val.counts()
            how = f"{len(val):,} validation images from their own folder"
        else:
            train_counts, val_counts = split_counts(train, self.val_split)
            how = f"{self.val_split:.0%} of each class held out to validate"
        smallest, largest = min(train.counts().values()), max(train.counts().values())
        balance = (f"imbalance {largest / max(smallest, 1):.1f}×"
                   if largest > 1.5 * smallest else "balanced")
        legend = (f" <span style='color:{TRAIN_BRUSH}'>■ train</span>"
                  f" <span style='color:{VAL_BRUSH}'>■ validate</span>")
        self.title.setText(f"<b>{train.root}</b><br>{len(train.classes)} classes · "
                           f"{len(train):,} images · {balance} · {how}{legend}")
        self.chart.show_counts(train_counts, val_counts, train.counts())
        self.thumbnails.show_split(train_counts, val_counts)

    def _show_size_warning(self) -> None:
        warning = small_images_warning(self.data.sides, self.image_size)
        self.size_warning.setText(warning or "")
        self.size_warning.setStyleSheet(message_colours("warning").style(padding=4)
                                        if warning else "")
        self.size_warning.setVisible(warning is not None)

    def _on_thumbnails(self, item: tuple[int, list[QImage]]) -> None:
        self.thumbnails.add_thumbnails(*item)

    def cancel(self) -> None:
        self._thumbnail_job.cancel()
