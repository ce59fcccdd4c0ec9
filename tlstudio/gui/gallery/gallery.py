"""The prediction gallery: thumbnails of the validation images with their predicted label and
confidence, filtered (all / misclassified / a class / a confusion-matrix cell) and sorted
(top losses first, by confidence), a detail panel, and moves that fix the dataset on disk.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from tlstudio.errors import TlstudioError
from tlstudio.evaluation import ImageRecord, RunEvaluation
from tlstudio.evaluation.relabel_history import RelabelHistory, RelabelMove, dataset_roots
from tlstudio.failures import FrontEnd, describe_failure
from tlstudio.gui.gallery.gallery_model import (
    SORTS,
    TILE,
    GalleryDelegate,
    GalleryFilter,
    GalleryModel,
)
from tlstudio.gui.gallery.image_detail import ImageDetail
from tlstudio.gui.shared.palette_colours import message_colours
from tlstudio.gui.shared.thumbnails import ThumbnailLoader
from tlstudio.runs import RunFolder

TRAINING_LOCK = ("Images can be moved once training ends: the run is still reading these "
                 "files.")


def gallery_list(model: GalleryModel, object_name: str) -> QListView:
    """An icon-mode list of gallery tiles; only the rows on screen are ever painted."""
    view = QListView(objectName=object_name)
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setMovement(QListView.Movement.Static)
    view.setUniformItemSizes(True)  # no size query per row: 5,000 rows lay out instantly
    view.setGridSize(TILE)
    view.setSpacing(0)
    # One pass (~15 ms for 5,000 tiles of one size), so a restored scroll position exists
    # at once; batched layout would clamp it to the part laid out so far.
    view.setLayoutMode(QListView.LayoutMode.SinglePass)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setItemDelegate(GalleryDelegate(view))
    view.setModel(model)
    return view


def tiles_and_detail(view: QListView, detail: ImageDetail) -> QSplitter:
    """The tiles on the left, the opened image on the right."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(view)
    splitter.addWidget(detail)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 2)
    splitter.setSizes([560, 340])
    return splitter


class PredictionGallery(QWidget):
    """Set an evaluation with `set_evaluation`; the results tab narrows it with `show_cell`."""

    imageActivated = Signal(object)  # ImageRecord, when the user opens an image
    datasetChanged = Signal()  # an image was moved (or put back): class counts changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="predictionGallery")
        self.run_dir: str | None = None
        self.evaluation: RunEvaluation | None = None
        self.relabel_history = RelabelHistory()
        self.training = False  # moves wait: a running fit would fail on a moved file
        self.thumbnails = ThumbnailLoader(self)
        self.model = GalleryModel(self.thumbnails, self)
        self.view = gallery_list(self.model, "galleryList")
        self.detail = ImageDetail()
        self.filter_box = QComboBox(objectName="galleryFilter")
        self.sort_box = QComboBox(objectName="gallerySort")
        self.sort_box.addItems(list(SORTS))
        self.filter_box.setToolTip("Which images the gallery shows: all, the misclassified, "
                                   "one class or one matrix cell (default: all images)")
        self.sort_box.setToolTip("The order of the images (default: top losses first, the "
                                 "most confidently wrong at the top)")
        self.count_label = QLabel(objectName="galleryCount")
        self.message = QLabel(objectName="galleryMessage", wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.undo_action = QAction("Undo move", self, shortcut=QKeySequence.StandardKey.Undo)
        self.undo_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(self.undo_action)
        self._build_layout()
        self._connect()
        self.set_sort("Top losses first")
        self._update_filters()
        self._update_undo()

    def _build_layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.filter_box)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Sort"))
        bar.addWidget(self.sort_box)
        bar.addStretch(1)
        bar.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(tiles_and_detail(self.view, self.detail), 1)

    def _connect(self) -> None:
        self.filter_box.activated.connect(self._on_filter_chosen)
        self.sort_box.currentTextChanged.connect(self.set_sort)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.view.activated.connect(self._on_activated)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.detail.moveRequested.connect(self.move_selected)
        self.detail.quarantineRequested.connect(self.quarantine_selected)
        self.detail.undoRequested.connect(self.undo_last_move)
        self.undo_action.triggered.connect(self.undo_last_move)
        # One key per class (1-9, named on screen by the detail); the tiles would otherwise
        # take a digit as a keyboard search.
        self.view.installEventFilter(self)
        self.detail.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if (event.type() == QEvent.Type.KeyPress and Qt.Key.Key_1 <= event.key() <= Qt.Key.Key_9
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            self.move_by_key(event.key() - Qt.Key.Key_0)
            return True
        return super().eventFilter(watched, event)

    # ---- the public API ------------------------------------------------------------------

    def set_evaluation(self, run_dir: str | os.PathLike[str], evaluation: RunEvaluation,
                       dataset_root: str | os.PathLike[str] | None = None) -> None:
        """Show an evaluation; a newer one of the same run keeps the selection and scroll."""
        same_run = self.run_dir == str(run_dir)
        self.run_dir, self.evaluation = str(run_dir), evaluation
        roots = [Path(dataset_root)] if dataset_root else dataset_roots(run_dir)
        self.relabel_history.set_roots(roots)
        has_model = RunFolder.at(run_dir).has_model()
        self.detail.set_model_source(
            self.run_dir if has_model else None,
            "Saliency needs the run's saved model: it is there once training ends")
        self.detail.set_classes(evaluation.classes)
        records = self.relabel_history.follow(evaluation.records)  # moves since, any session
        if same_run:
            self._keeping_place(lambda: self.model.set_records(records))
        else:
            self.model.set_records(records)
            self.detail.show_record(None)
        self._update_filters()
        self._update_count()
        self._update_undo()

    def show_pending(self, run_dir: str) -> None:
        """A new current run without predictions yet: show none rather than another run's."""
        if self.run_dir == str(run_dir):
            return
        self.run_dir, self.evaluation = str(run_dir), None
        self.model.set_records([])
        self.detail.show_record(None)
        self.detail.set_model_source(None, "Saliency needs the run's saved model")
        self._update_filters()
        self._update_count()
        self.count_label.setText("0 of 0 images · the run's predictions appear when its "
                                 "first epoch ends")

    def on_training_started(self, _event: object = None) -> None:
        self.training = True
        self._update_undo()

    def on_training_finished(self, _result: object = None) -> None:
        self.training = False
        self._update_undo()

    def show_cell(self, true: str, predicted: str, epoch: int | None = None) -> None:
        """Show exactly the images of class `true` predicted as `predicted`; an empty cell
        says so."""
        self.set_filter(GalleryFilter("cell", true, predicted))
        if not self.model.rowCount():
            when = f" after epoch {epoch}" if epoch else ""
            self._say(f"No '{true}' image was predicted as '{predicted}'{when}: this cell of "
                      "the confusion matrix is empty.")

    def show_class(self, name: str) -> None:
        self.set_filter(GalleryFilter("class", name))

    def show_misclassified(self) -> None:
        self.set_filter(GalleryFilter("misclassified"))

    def show_all(self) -> None:
        self.set_filter(GalleryFilter())

    def set_filter(self, gallery_filter: GalleryFilter) -> None:
        self.model.set_filter(gallery_filter)
        self._update_filters()
        self._update_count()
        self.view.scrollToTop()

    def set_sort(self, sort: str) -> None:
        if self.sort_box.currentText() != sort:
            self.sort_box.setCurrentText(sort)  # comes back here through the signal
            return
        self._keeping_place(lambda: self.model.set_sort(sort), keep_scroll=False)
        self.view.scrollToTop()  # a new order reads from its start

    def shown_records(self) -> list[ImageRecord]:
        """The records in the gallery, in the order shown."""
        return self.model.shown()

    def selected_records(self) -> list[ImageRecord]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.record(r) for r in rows]

    def select_paths(self, paths: list[str]) -> None:
        selection = self.view.selectionModel()
        selection.clearSelection()
        rows = [r for r in (self.model.row_of(p) for p in paths) if r is not None]
        for i, row in enumerate(rows):
            flags = QItemSelectionModel.SelectionFlag.Select
            if i == 0:
                flags |= QItemSelectionModel.SelectionFlag.Current
            selection.setCurrentIndex(self.model.index(row), flags)

    # ---- fixing the data -----------------------------------------------------------------

    def move_selected(self, new_class: str) -> list[RelabelMove]:
        """Move the selected images into the folder of `new_class` (wrong labels)."""
        return self._apply(lambda r: self.relabel_history.relabel(r, new_class),
                           f"moved to '{new_class}'")

    def move_by_key(self, number: int) -> list[RelabelMove]:
        """Number key `number`: move the shown image into that class (never into its own)."""
        name = self.detail.key_class(number)
        return self.move_selected(name) if name else []

    def quarantine_selected(self) -> list[RelabelMove]:
        """Move the selected images out of the dataset into its quarantine folder."""
        return self._apply(self.relabel_history.quarantine, "moved to the quarantine folder")

    def undo_last_move(self) -> bool:
        if self.training:
            self._say(TRAINING_LOCK, error=True)
            return False
        try:
            back = self.relabel_history.undo()
        except TlstudioError as e:
            self._say(describe_failure(e, FrontEnd.WINDOW), error=True)
            return False
        if self.evaluation is not None:
            records = self.relabel_history.follow(self.evaluation.records)
            self._keeping_place(lambda: self.model.set_records(records))
        if self.model.row_of(back.dst) is not None:
            self.select_paths([back.dst])
        self._say(f"Put back '{Path(back.dst).name}' in '{Path(back.dst).parent.name}'.")
        self._after_moves()
        return True

    def _apply(self, make_move, what: str) -> list[RelabelMove]:
        if self.training:
            self._say(TRAINING_LOCK, error=True)
            return []
        records = self.selected_records()
        if not records and self.detail.record is not None:
            records = [self.detail.record]
        order = [r.path for r in self.model.shown()]  # before the moves reorder the tiles
        moves, errors = [], []
        for record in records:
            try:
                move = make_move(record)
            except TlstudioError as e:
                errors.append(describe_failure(e, FrontEnd.WINDOW))
                continue
            moves.append(move)
            scroll = self.view.verticalScrollBar().value()
            self.model.replace(record.path, move.after)
            self._scroll_back(scroll)  # the user stays where they were
        if errors:
            self._say(" ".join(errors), error=True)
        elif moves:
            names = ", ".join(f"'{Path(m.before.path).name}'" for m in moves[:3])
            more = f" and {len(moves) - 3} more" if len(moves) > 3 else ""
            self._say(f"{names}{more} {what}. Undo with Ctrl+Z.")
        if moves:
            self._show_next(order, {m.before.path for m in moves}, moves[-1].after)
            self._after_moves()
        return moves

    def _show_next(self, order: list[str], moved: set[str], after: ImageRecord | None) -> None:
        """Select the tile that took the first moved tile's place (the one before it if it
        was last) and show it, so that fixing image after image needs no click between.
        `order`: the tiles' paths before the moves."""
        rows = [i for i, path in enumerate(order) if path in moved]
        if rows:
            following = order[rows[0] + 1:] + order[:rows[0]][::-1]
            nearest = next((p for p in following if p not in moved
                            and self.model.row_of(p) is not None), None)
            if nearest is not None:
                self.select_paths([nearest])  # the detail follows, saliency included
                return
        if after is not None and self.model.row_of(after.path) is not None:
            self.select_paths([after.path])
            return
        self.detail.show_record(after)  # a moved image no tile showed: its new place
        if after is None:
            self.detail.saliency_toggle.setChecked(False)  # nothing left to explain

    def _after_moves(self) -> None:
        self._update_undo()
        self._update_count()
        self.datasetChanged.emit()

    # ---- internals -----------------------------------------------------------------------

    def _keeping_place(self, change, keep_scroll: bool = True) -> None:
        """Apply a model change, then restore the selected images and the scroll position."""
        selected = [r.path for r in self.selected_records()]
        current = self.view.currentIndex()
        current_path = self.model.record(current.row()).path if current.isValid() else None
        scroll = self.view.verticalScrollBar().value()
        change()
        if current_path is not None:
            self.select_paths([current_path] + [p for p in selected if p != current_path])
        if keep_scroll:
            self._scroll_back(scroll)

    def _scroll_back(self, value: int) -> None:
        """Scroll to `value` after a model reset, laying the tiles out now (Qt would do it
        on its next pass and clamp the value to the old range meanwhile)."""
        self.view.doItemsLayout()
        self.view.verticalScrollBar().setValue(value)

    def _update_filters(self) -> None:
        box = self.filter_box
        box.blockSignals(True)
        box.clear()
        box.addItem("All images", GalleryFilter())
        box.addItem("Misclassified", GalleryFilter("misclassified"))
        classes = self.evaluation.classes if self.evaluation else ()
        for name in classes:
            box.addItem(f"Class: {name}", GalleryFilter("class", name))
        current = self.model.filter
        if current.kind == "cell":
            box.addItem(f"Cell: {current.true} → {current.predicted}", current)
        for i in range(box.count()):
            if box.itemData(i) == current:
                box.setCurrentIndex(i)
        box.blockSignals(False)

    def _on_filter_chosen(self, index: int) -> None:
        self.set_filter(self.filter_box.itemData(index))

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), len(self.model.records)
        wrong = sum(not r.correct for r in self.model.records)
        self.count_label.setText(f"{shown:,} of {total:,} images · {wrong:,} misclassified"
                                 if self.evaluation else "No run evaluated yet")

    def _update_undo(self) -> None:
        can = not self.training and self.relabel_history.can_undo()
        self.undo_action.setEnabled(can)
        self.detail.set_undo_enabled(can)
        self.detail.set_relabel_enabled(not self.training, TRAINING_LOCK)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(message_colours("error" if error else "info").style(4))
        self.message.setText(text)
        self.message.show()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            record = self.model.record(current.row())
            self.detail.show_record(record)
            self.imageActivated.emit(record)

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.imageActivated.emit(self.model.record(index.row()))

    def _context_menu(self, pos: QPoint) -> None:
        if not self.view.indexAt(pos).isValid() or self.evaluation is None:
            return
        menu = self.context_menu()
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def context_menu(self) -> QMenu:
        """Move to a class, quarantine, undo: for the selected images."""
        menu = QMenu(self)
        move_to = menu.addMenu("Move to class")
        for name in self.evaluation.classes if self.evaluation else ():
            move_to.addAction(name).triggered.connect(
                lambda _checked=False, n=name: self.move_selected(n))
        quarantine = menu.addAction("Quarantine (bad image)")
        quarantine.triggered.connect(self.quarantine_selected)
        for entry in (move_to.menuAction(), quarantine):
            entry.setEnabled(not self.training)
        menu.addSeparator()
        menu.addAction(self.undo_action)
        return menu

    def cancel(self) -> None:
        self.thumbnails.cancel()
        self.detail.cancel()
