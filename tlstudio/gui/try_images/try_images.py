"""Try images: drop image files or folders (or pick them) and see what a model predicts,
from the current run or any exported model, with the gallery's tiles and detail panel.
Predictions are computed off the GUI thread.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tlstudio.evaluation import ImageRecord
from tlstudio.export import open_model
from tlstudio.gui.gallery.gallery import gallery_list, tiles_and_detail
from tlstudio.gui.gallery.gallery_model import GalleryModel
from tlstudio.gui.gallery.image_detail import ImageDetail
from tlstudio.gui.shared.background import BackgroundJob, TaskState, error_message
from tlstudio.gui.shared.current_run import run_name
from tlstudio.gui.shared.elided_label import ElidedLabel
from tlstudio.gui.shared.palette_colours import message_colours
from tlstudio.gui.shared.thumbnails import ThumbnailLoader
from tlstudio.inference import Prediction, Predictor, expand_inputs
from tlstudio.runs import RunFolder

MODEL_FILTER = ("Exported models (*.onnx *.pt *.pth *.torchscript *.safetensors *.xml *.tflite "
                "*.mlpackage)")
NO_SALIENCY = ("Saliency needs a run folder: an exported model does not keep the layers "
               "Grad-CAM reads")


def unlabelled_record(prediction: Prediction) -> ImageRecord:
    """A new image's prediction as a gallery record: no true class, no loss."""
    return ImageRecord(path=prediction.path, true="", predicted=prediction.label,
                       confidence=prediction.probability, loss=math.nan, top5=prediction.top)


def predict_job(state: TaskState, source: str, predictor: Predictor | None,
                paths: list[str]) -> tuple[Predictor, list[ImageRecord], list]:
    """Load the model (unless given) and predict the images under `paths`."""
    predictor = predictor or open_model(source)
    files, passed_over = expand_inputs(paths)
    predictions, skipped = predictor.predict_paths(files, top_k=5)
    return predictor, [unlabelled_record(p) for p in predictions], passed_over + skipped


class TryImagesView(QWidget):
    """A drop target and a gallery of predictions for images outside the dataset."""

    predicted = Signal(int)  # how many images the last batch added
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="tryImages")
        self.setAcceptDrops(True)
        self.source: str | None = None  # run folder or exported model file
        self._chosen = False  # the user picked the model: a new run does not replace it
        self.current_run: str | None = None  # the window's current run (its model, once saved)
        self._waiting: list[str] = []  # images that wait for the current run's model
        self._predictor: Predictor | None = None
        self._queue: list[str] = []
        self._predicting: list[str] = []  # the paths of the prediction in flight
        self._job = BackgroundJob(self)
        self._job.returned.connect(self._on_predicted)
        self._job.errored.connect(self._on_failed)
        self._job.finished.connect(self._on_done)
        self.thumbnails = ThumbnailLoader(self)
        self.model = GalleryModel(self.thumbnails, self)
        self.view = gallery_list(self.model, "tryImagesList")
        self.detail = ImageDetail(relabel=False)
        self.model_label = ElidedLabel("tryModelLabel")
        self.hint = QLabel(objectName="tryHint", wordWrap=True)
        self.status = QLabel(objectName="tryStatus", wordWrap=True)
        self.choose_model = QPushButton("Choose model…", objectName="tryChooseModel")
        self.add_files = QPushButton("Add images…", objectName="tryAddImages")
        self.add_folder = QPushButton("Add folder…", objectName="tryAddFolder")
        self.clear_button = QPushButton("Clear", objectName="tryClear")
        self.choose_model.setToolTip("Predict with another run folder or exported model "
                                     "instead of the current run's")
        self.add_files.setToolTip("Add image files to predict (or drop them on the window)")
        self.add_folder.setToolTip("Add every image in a folder to predict")
        self.clear_button.setToolTip("Remove the images from this list (the files stay)")
        self._build_layout()
        self.choose_model.clicked.connect(self._choose_model)
        self.add_files.clicked.connect(self._pick_files)
        self.add_folder.clicked.connect(self._pick_folder)
        self.clear_button.clicked.connect(self.clear)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self._show_source()

    def _build_layout(self) -> None:
        bar = QHBoxLayout()  # the model's path gets the full width above it
        bar.addWidget(self.hint, 1)
        for button in (self.choose_model, self.add_files, self.add_folder, self.clear_button):
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.model_label)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(tiles_and_detail(self.view, self.detail), 1)

    # ---- the public API ------------------------------------------------------------------

    def follow_run(self, run_dir: str) -> None:
        """The window's current run changed ('' for none): unless the user chose a model, its
        model is used from now on, or, while it has none, images wait for it, and the label
        and status say so (the model never changes silently at the end of a run)."""
        self.current_run = run_dir or None
        if self._chosen:
            self._show_source()
            return
        if run_dir and RunFolder.at(run_dir).has_model():
            self.set_run(run_dir)
            return
        if self.source is not None:  # the images shown, or on their way, wait for the new model
            interrupted = self._predicting if self._job.is_running() else []
            shown = [r.path for r in self.model.records]
            self._waiting = list(dict.fromkeys(self._waiting + shown + interrupted + self._queue))
        self._job.cancel()  # its predictions would be the previous run's
        self._queue.clear()
        self.source, self._predictor = None, None
        self.model.set_records([])
        self.detail.show_record(None)
        self.detail.set_model_source(None, NO_SALIENCY)
        self._show_source()
        self._say_waiting()

    def set_run(self, run_dir: str) -> None:
        """The current run has a model now (or a run was given with no current run): used
        unless the user chose another model; another run's model is not taken."""
        if self._chosen or (self.current_run is not None
                            and Path(run_dir) != Path(self.current_run)):
            return
        if self.source is not None and Path(self.source) == Path(run_dir):
            return  # already its model
        self.set_model(run_dir, chosen=False)
        self.status.setStyleSheet("")
        self.status.setText(f"Now predicting with the current run's model ({run_name(run_dir)})")
        waiting, self._waiting = self._waiting, []
        if waiting:
            self.add_paths(waiting)

    def set_model(self, source: str | os.PathLike[str], chosen: bool = True) -> None:
        """Predict with a run folder or an exported model (.onnx .pt .safetensors .xml .tflite)."""
        interrupted = self._predicting if self._job.is_running() else []
        self._job.cancel()  # its predictions would come from the previous model
        self.source, self._chosen, self._predictor = str(source), chosen, None
        is_run = Path(source).is_dir() and RunFolder.at(source).has_model()
        self.detail.set_model_source(str(source) if is_run else None, NO_SALIENCY)
        self._show_source()
        shown = [r.path for r in self.model.records]
        if shown:
            self.model.set_records([])
        if shown or interrupted or self._queue:  # the same images, by the new model
            self.add_paths(shown + interrupted)

    def add_paths(self, paths: list[str]) -> None:
        """Predict these files and folders (off the GUI thread) and add them to the gallery."""
        if self.source is None and self.current_run is not None:
            self._waiting += [p for p in paths if p not in self._waiting]
            self._say_waiting()
            return
        if self.source is None:
            self._say("Train a model or choose an exported one first (Choose model…).")
            return
        self._queue.extend(paths)
        if not self._job.is_running():
            self._start()

    def records(self) -> list[ImageRecord]:
        return self.model.shown()

    def clear(self) -> None:
        self._queue.clear()
        self._waiting.clear()
        self._job.cancel()  # what it predicts would come back after the Clear
        self.model.set_records([])
        self.detail.show_record(None)
        self.status.clear()

    def busy(self) -> bool:
        return self._job.is_running()

    def cancel(self) -> None:
        self._queue.clear()
        self._job.cancel()
        self.thumbnails.cancel()
        self.detail.cancel()

    # ---- drag and drop -------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_paths(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if dropped_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_paths(event)
        if paths:
            self.add_paths(paths)
            event.acceptProposedAction()

    # ---- internals -----------------------------------------------------------------------

    def _start(self) -> None:
        paths, self._queue = self._queue, []
        self._predicting = paths
        self.status.setStyleSheet("")
        self.status.setText(f"Predicting {len(paths)} item(s)…")
        self._job.start(predict_job, self.source, self._predictor, paths)

    def _on_predicted(self, result: tuple[Predictor, list[ImageRecord], list]) -> None:
        predictor, records, skipped = result
        if predictor.source == self.source:
            self._predictor = predictor
        known = {r.path for r in self.model.records}
        added = [r for r in records if r.path not in known]
        self.model.set_records(self.model.records + added)
        text = f"{len(self.model.records)} image(s) · predicted by {Path(self.source).name}"
        if skipped:
            text += f" · {len(skipped)} file(s) skipped (not readable images)"
        self.status.setText(text)
        if added:
            self.view.setCurrentIndex(self.model.index(self.model.row_of(added[0].path)))
        self.predicted.emit(len(added))

    def _on_failed(self, error: Exception) -> None:
        message = error_message(error)
        self._say(message)
        self.failed.emit(message)

    def _on_done(self) -> None:
        if self._queue:
            self._start()

    def _say(self, text: str) -> None:
        self.status.setStyleSheet(message_colours("error").style(4))
        self.status.setText(text)

    def _show_source(self) -> None:
        """Which model predicts, named as every tab names the current run."""
        if self.source is None and self.current_run is not None:
            self.model_label.set_full_text(f"Model: none yet · {run_name(self.current_run)} "
                                           "has no model until its first epoch ends")
            self.hint.setText("Drop images or folders here: they are predicted once the "
                              "current run has its model. Or choose a model.")
        elif self.source is None:
            self.model_label.set_full_text("No model yet")
            self.hint.setText("Train one, or choose an exported model. Then drop images or "
                              "folders here.")
        elif not self._chosen:
            self.model_label.set_full_text(f"Model: the current run's · {run_name(self.source)}"
                                           f" ({self.source})")
            self.hint.setText("Drop images or folders here, or add them.")
        else:
            self.model_label.set_full_text(f"Model: {self.source}")
            self.hint.setText("Drop images or folders here, or add them. The chosen model "
                              "stays, whichever run is current.")

    def _say_waiting(self) -> None:
        if self._waiting:
            self.status.setStyleSheet("")
            self.status.setText(f"{len(self._waiting)} item(s) wait for the current run's "
                                f"model ({run_name(self.current_run)})")

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.detail.show_record(self.model.record(current.row()))

    def _choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an exported model", "", MODEL_FILTER)
        if path:
            self.set_model(path)

    def _pick_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add images", "",
                                                "Images (*.png *.jpg *.jpeg *.bmp *.gif "
                                                "*.tif *.tiff *.webp);;All files (*)")
        if files:
            self.add_paths(files)

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of images")
        if folder:
            self.add_paths([folder])


def dropped_paths(event: QDragEnterEvent | QDropEvent) -> list[str]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


def window_drop(paths: list[str], on_this_tab: bool,
                folder_is_data: bool) -> tuple[str, list[str]] | None:
    """Where a drop on the window goes: ("try", paths to predict) for image files, or for
    anything while this tab shows; ("data", [folder]) for a folder taken as training data
    when `folder_is_data`; None when the drop is not for the window."""
    if paths and on_this_tab:
        return "try", paths
    files = [p for p in paths if os.path.isfile(p)]
    if files:
        return "try", files
    folders = [p for p in paths if os.path.isdir(p)]
    return ("data", folders[:1]) if folders and folder_is_data else None
