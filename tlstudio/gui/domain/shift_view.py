"""The Domain shift tab: how far a folder of new (target) images is from the current run's
training images, measured off the GUI thread by the core's `measure_shift`: the domain
classifier's accuracy in plain words, the model's confidence on both, the predicted class shares
and the 2-D map whose dots show their image when clicked."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from tlstudio.domain import DomainShift, measure_shift
from tlstudio.errors import TlstudioError
from tlstudio.gui.domain.shift_charts import MOST_CLASSES, ClassShares, ShiftMap, legend_html
from tlstudio.gui.domain.shift_point import ShiftPoint
from tlstudio.gui.shared.background import BackgroundJob, TaskState, error_message
from tlstudio.gui.shared.palette_colours import message_colours
from tlstudio.gui.sidebar.folder_edit import FolderEdit
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder
from tlstudio.training import RunControl

INTRO = (
    "Will the model meet images from another camera, microscope or season? Choose a "
    "folder of them (no labels needed) to see how different they look to the model."
)
CLEAR_SHIFT = 0.75  # domain accuracy from which the verdict is shown as a warning
CHARTS = "the map of training and target images and the classes the model predicts"


def empty_note(has_run: bool, has_target: bool, measuring: bool) -> str:
    """What to do to get the charts, in place of empty axes until a shift is measured."""
    if measuring:
        return f"Measuring: {CHARTS} appear here when it is done."
    if not has_run:
        step = "Train a run or open one (File > Open run…), then choose the target images and"
    elif not has_target:
        step = "Choose the folder of target images above and"
    else:
        step = ""
    text = f"{step} click Measure shift: {CHARTS} appear here.".strip()
    return text[0].upper() + text[1:]


def shift_job(state: TaskState, run_dir: str, target_dir: str) -> DomainShift:
    """The core's measurement; what it is doing is yielded as text, cancel stops it."""
    control = RunControl()
    doing = [""]

    def progress(text: str, done: int, total: int) -> None:
        if state.cancelled():
            control.stop()
        if text != doing[0]:
            doing[0] = text
            state.yield_(text)
        state.progress(done, total)

    return measure_shift(run_dir, target_dir, progress=progress, control=control)


def confidence_text(shift: DomainShift) -> str:
    text = (
        f"Model confidence: {shift.source_confidence:.0%} on the run's "
        f"{shift.confidence_images} images, "
        f"{shift.target_confidence:.0%} on the target images"
    )
    if shift.target_confidence < shift.source_confidence - 0.05:
        text += ": less sure on the target, expect more mistakes there"
    return text + "."


class ShiftView(QWidget):
    """`domainShift`: target folder and Measure shift above the verdict, the map, the class
    shares and the clicked image."""

    measured = Signal(object)  # DomainShift, once shown
    failed = Signal(str)  # a message for the window's banner
    started = Signal()  # a measurement began: an earlier failure's message is out of date

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="domainShift")
        self.run_dir: str | None = None
        self.shift: DomainShift | None = None
        self._job = BackgroundJob(self)
        self._job.progress.connect(self._on_progress)
        self._job.yielded.connect(self._on_doing)
        self._job.returned.connect(self._on_measured)
        self._job.errored.connect(self._on_failed)
        self._job.finished.connect(self._update_button)
        self.target = FolderEdit(
            "shiftTargetEdit",
            "Images from where the model will be used",
            "Choose the target images",
        )
        self.target.edit.setToolTip(
            "A folder of images from where the model will be used; "
            "subfolders are read too, labels are not needed (default: the current run's "
            "target folder, if it was trained with one)"
        )
        self.measure_button = QPushButton("Measure shift", objectName="measureShiftButton")
        self.measure_button.setToolTip("Needs a current run and a folder of target images")
        self.progress = QProgressBar(objectName="shiftProgress", textVisible=False)
        self.progress.setMaximumHeight(6)
        self.progress.hide()
        self.status = QLabel(INTRO, objectName="shiftStatus", wordWrap=True)
        self.verdict = QLabel(objectName="shiftVerdict", wordWrap=True)
        self.confidence = QLabel(objectName="shiftConfidence", wordWrap=True)
        self.map = ShiftMap()
        self.classes = ClassShares()
        self.classes_note = QLabel(objectName="shiftClassesNote", wordWrap=True)
        self.point = ShiftPoint()
        self.empty_note = QLabel(objectName="shiftEmptyNote", wordWrap=True)
        self.empty_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_note.setStyleSheet("color: palette(placeholder-text); font-size: 12pt;")
        self.pages = QStackedWidget(objectName="shiftPages")  # the note, or the charts
        self._build_layout()
        self.measure_button.clicked.connect(self.measure)
        self.target.edit.textChanged.connect(self._update_button)
        self.map.pointClicked.connect(self.show_point)
        self.show_empty()
        self._update_button()

    def _build_layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(QLabel("Target images"))
        row.addWidget(self.target, 1)
        row.addWidget(self.measure_button)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(
            QLabel(
                f"<b>Predicted classes</b>&nbsp;&nbsp;{legend_html()}",
                objectName="shiftClassesLegend",
                wordWrap=True,
            )
        )
        side_layout.addWidget(self.classes, 1)
        side_layout.addWidget(self.classes_note)
        side_layout.addWidget(QLabel("<b>Clicked image</b>"))
        side_layout.addWidget(self.point, 1)
        charts = QSplitter(Qt.Orientation.Horizontal, objectName="shiftSplitter")
        charts.addWidget(self.map)
        charts.addWidget(side)
        charts.setStretchFactor(0, 3)
        charts.setStretchFactor(1, 2)
        self.pages.addWidget(self.empty_note)
        self.pages.addWidget(charts)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.verdict)
        layout.addWidget(self.confidence)
        layout.addWidget(self.pages, 1)

    # ---- what the window sets -----------------------------------------------------------

    def set_run(self, run_dir: str) -> None:
        """The window's current run ('' for none), again when it has finished: a measurement
        of another run is cleared, and the run's own target folder, if it trained with one, is
        offered (its recipe is written once training has started)."""
        run_dir = run_dir or None
        if run_dir != self.run_dir:
            self._job.cancel()
            self.run_dir = run_dir
            self.show_empty()
        target = _recipe_target(run_dir)
        if target and not self.target.path():
            self.target.set_path(target)
        self._update_button()

    def cancel(self) -> None:
        self._job.cancel()
        self.point.cancel()

    # ---- measuring ----------------------------------------------------------------------

    def measure(self) -> bool:
        """Measure the target folder against the current run; False (status says why) if it
        cannot start."""
        if self.run_dir is None:
            self.status.setText("Train a run or open one (File > Open run…) first.")
            return False
        if not RunFolder.at(self.run_dir).has_model():
            self.status.setText("The current run has no model yet: wait for its first epoch.")
            return False
        if not self.target.path():
            self.status.setText("Choose the folder of target images first.")
            return False
        self.show_empty()
        self.status.setText("Measuring…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self._job.start(shift_job, self.run_dir, self.target.path())
        self._update_button()
        self.started.emit()
        return True

    def is_running(self) -> bool:
        return self._job.is_running()

    def show_empty(self) -> None:
        self.shift = None
        for label in (self.verdict, self.confidence, self.classes_note):
            label.clear()
            label.setStyleSheet("")
        self.verdict.hide()
        self.map.show_points(())
        self.point.show_point(None)
        self.pages.setCurrentWidget(self.empty_note)

    def show_point(self, index: int) -> None:
        if self.shift is not None and 0 <= index < len(self.shift.points):
            self.map.mark(index)
            self.point.show_point(self.shift.points[index])

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_doing(self, text: str) -> None:
        self.status.setText(f"Computing the {text}…")

    def _on_measured(self, shift: DomainShift) -> None:
        self.progress.hide()
        self.shift = shift
        self.status.setText(
            f"Compared {shift.source_images} training images with "
            f"{shift.target_images} target images, as the run's backbone sees "
            "them. Each dot on the map is one image: click one to see it."
        )
        kind = "error" if shift.domain_accuracy >= CLEAR_SHIFT else "info"
        self.verdict.setStyleSheet(message_colours(kind).style(padding=6))
        self.verdict.setText(
            f"<b>Domain accuracy {shift.domain_accuracy:.2f}</b> (0.5 = no "
            f"shift, 1.0 = fully separable): {shift.verdict}."
        )
        self.verdict.show()
        self.confidence.setText(confidence_text(shift))
        self.map.show_points(shift.points)
        self.classes.show_shares(shift)
        self.pages.setCurrentIndex(1)
        many = len(shift.training_distribution) > MOST_CLASSES
        self.classes_note.setText(
            f"The {MOST_CLASSES} classes whose shares differ most."
            if many
            else "A class predicted far more or less often on the target than it occurs in "
            "training suggests the shift changes what the model sees."
        )
        self.measured.emit(shift)

    def _on_failed(self, error: Exception) -> None:
        self.progress.hide()
        self.status.setText("The shift could not be measured: see the message above.")
        self.failed.emit(error_message(error))

    def _update_button(self) -> None:
        ready = self.run_dir is not None and bool(self.target.path())
        self.measure_button.setEnabled(ready and not self._job.is_running())
        self.empty_note.setText(empty_note(self.run_dir is not None, bool(self.target.path()),
                                           self._job.is_running()))
        self.measure_button.setToolTip(
            "Compare the target images with the current run's training images"
            if ready
            else "Needs a current run and a folder of target images"
        )


def _recipe_target(run_dir: str | None) -> str | None:
    """The target folder the run trained with, if any."""
    if run_dir is None:
        return None
    try:
        return Recipe.load(RunFolder.at(run_dir).recipe).target_dir
    except (TlstudioError, OSError):
        return None
