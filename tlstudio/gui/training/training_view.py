"""The Training tab: live plots, a progress bar with images/s and ETA, and the log.

Every slot here receives the controller's small event values in the GUI thread.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from tlstudio.gui.shared.palette_colours import muted_text, note_style
from tlstudio.gui.training.fold_progress import FoldProgress
from tlstudio.gui.training.plots import TrainingPlots
from tlstudio.gui.training.result_card import ResultCard
from tlstudio.training.events import per_class_line

FAILED_STYLE = ("QProgressBar { border: 1px solid #b3261e; border-radius: 3px; "
                "text-align: center; color: palette(text); } "
                "QProgressBar::chunk { background: #b3261e; }")
EXPORT_WAITS = "Export is possible once the current run has a model (its first epoch ended)"
LOG_LEVELS = ("warning", "error")  # coloured in the log; the rest in the text colour


def format_duration(seconds: float) -> str:
    if seconds < 10:
        return f"{max(seconds, 0.0):.1f} s"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingView(QWidget):
    """Plots over progress over log; `exportButton` lives here, next to the result it exports."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._epochs = 1
        self._classes: tuple[str, ...] = ()
        self.plots = TrainingPlots()
        self.progress = QProgressBar(objectName="progressBar", minimum=0, maximum=1000)
        self.progress.setFormat("Ready")
        self.progress.setValue(0)
        self.rate_label = QLabel(objectName="rateLabel")
        self.rate_label.setMinimumWidth(220)
        self.rate_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.memory_label = QLabel(objectName="gpuMemoryLabel", visible=False)
        self.memory_label.setToolTip("GPU memory PyTorch holds for this run")
        self.export_button = QPushButton("Export model…", objectName="exportButton")
        self.export_button.setEnabled(False)
        self.export_button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.export_button.setToolTip(EXPORT_WAITS)
        self.result_card = ResultCard()
        self.folds = FoldProgress()  # shown while a run cross-validates
        self.log_pane = QPlainTextEdit(objectName="logPane", readOnly=True)
        self.log_pane.setMaximumBlockCount(5000)
        self.log_pane.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_pane.setPlaceholderText("Training messages appear here.")
        self._build_layout()

    def _build_layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.rate_label)
        row.addWidget(self.memory_label)
        row.addWidget(self.export_button)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addLayout(row)
        middle_layout.addWidget(self.result_card)
        middle_layout.addWidget(self.folds)
        log_title = QLabel("Log")
        bold = QFont(log_title.font())
        bold.setBold(True)
        log_title.setFont(bold)
        middle_layout.addWidget(log_title)
        middle_layout.addWidget(self.log_pane, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plots)
        splitter.addWidget(middle)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([520, 200])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # ---- controller slots ---------------------------------------------------------------

    def on_starting(self) -> None:
        self.result_card.show_summary(None)
        self.progress.show()
        self.progress.setStyleSheet("")
        self.progress.setRange(0, 0)  # busy until the first phase or batch reports
        self.progress.setFormat("Starting…")
        self.rate_label.clear()

    def on_fit_started(self, event: object) -> None:
        self._epochs = max(1, int(event.epochs))
        self._classes = tuple(event.classes)
        self.plots.reset(int(event.batches_per_epoch))
        for done in getattr(event, "history", ()):  # a resumed run: its curves so far
            self.plots.on_epoch(done)
        mode = ("features cached, only the head trains" if event.feature_cache
                else "fine-tuning")
        precision = getattr(event, "precision", "")  # engines before mixed precision lack it
        device = f"{event.device} ({precision})" if precision else event.device
        self.append_log(
            f"Training {event.train_images:,} images, validating {event.val_images:,}, "
            f"{len(event.classes)} classes on {device} at {event.image_size} px; "
            f"{event.trainable_params:,} of {event.total_params:,} parameters train ({mode}).")

    def on_phase(self, event: object) -> None:
        total = max(int(event.total), 1)
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * int(event.done) / total))
        self.progress.setFormat(f"{str(event.phase).capitalize()}: {event.done:,} / "
                                f"{event.total:,}")

    def on_batch(self, snapshot: object) -> None:
        self.plots.on_batch(snapshot)
        batches = max(int(snapshot.batches), 1)
        done = (int(snapshot.epoch) - 1) * batches + int(snapshot.batch)
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done / (self._epochs * batches)))
        self.progress.setFormat(f"Epoch {snapshot.epoch}/{self._epochs} · batch "
                                f"{snapshot.batch}/{batches}")
        rate = getattr(snapshot, "images_per_second", None)
        eta = getattr(snapshot, "eta_seconds", None)
        parts = []
        if rate:
            parts.append(f"{rate:,.0f} images/s")
        if eta:
            parts.append(f"ETA {format_duration(eta)}")
        self.rate_label.setText(" · ".join(parts))
        memory = getattr(snapshot, "gpu_memory_mb", 0.0)
        self.memory_label.setVisible(bool(memory))
        self.memory_label.setText(f"GPU memory {memory / 1024:.1f} GB")

    def on_epoch(self, event: object) -> None:
        self.plots.on_epoch(event)
        self.append_log(
            f"Epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f}, "
            f"accuracy {event.train_accuracy:.1%}; {event.val_text()}{event.target_text()} "
            f"({format_duration(event.seconds)})")
        per_class = getattr(event, "per_class_accuracy", ())
        if per_class and self._classes:
            line = per_class_line(self._classes, per_class)
            self.append_log(f"Validation accuracy per class: {line}")

    def on_finished(self, text: str) -> None:
        self.progress.setRange(0, 1000)
        if text == "Finished":
            self.progress.setValue(1000)
        # A failure must not read like success: a red bar, not a full blue one.
        self.progress.setStyleSheet(FAILED_STYLE if text == "Failed" else "")
        self.progress.setFormat(text)
        self.rate_label.clear()

    def append_log(self, text: str, level: str = "info") -> None:
        stamp = time.strftime("%H:%M:%S")
        body = html.escape(text)
        if level in LOG_LEVELS:
            body = f"<span style='{note_style(level)}'>{body}</span>"
        self.log_pane.appendHtml(f"<span style='color:{muted_text()}'>{stamp}</span>&nbsp; "
                                 f"{body}")
