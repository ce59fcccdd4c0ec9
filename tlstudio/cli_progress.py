"""Turns engine events into a terminal progress bar (tqdm) and short log lines."""

from __future__ import annotations

import sys

from tqdm import tqdm

from tlstudio.failures import FrontEnd, with_remedies
from tlstudio.training.events import (
    BatchEnded,
    EpochEnded,
    Event,
    FitEnded,
    FitStarted,
    FoldEnded,
    LogMessage,
    PhaseProgress,
    per_class_line,
)


class ProgressPrinter:
    """A training callback: one bar per phase or epoch, a line per finished epoch."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.bar: tqdm | None = None
        self.bar_key: object = None
        self.classes: tuple[str, ...] = ()

    def __enter__(self) -> ProgressPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close_bar()

    def __call__(self, event: Event) -> None:
        if isinstance(event, BatchEnded):
            bar = self._bar(("epoch", event.epoch), event.batches, f"epoch {event.epoch}")
            bar.update(1)
            bar.set_postfix(loss=f"{event.loss:.4f}", refresh=False)
        elif isinstance(event, PhaseProgress):
            bar = self._bar(("phase", event.phase), event.total, event.phase)
            bar.update(event.done - bar.n)
        elif isinstance(event, EpochEnded):
            self._close_bar()
            self._line(
                f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f}, "
                f"{event.val_text()}{event.target_text()} ({event.seconds:.1f} s)"
            )
            if event.per_class_accuracy:
                self._line(f"  per class: {per_class_line(self.classes, event.per_class_accuracy)}")
        elif isinstance(event, FitStarted):
            self.classes = event.classes
            self._line(
                f"{event.train_images} training and {event.val_images} validation images, "
                f"{len(event.classes)} classes, on {event.device} ({event.precision}); "
                f"{event.trainable_params:,} of {event.total_params:,} parameters train"
            )
        elif isinstance(event, LogMessage):
            self._close_bar()
            text = with_remedies(event.text, event.remedies, FrontEnd.CLI)
            self._line(text if event.level == "info" else f"warning: {text}")
        elif isinstance(event, FitEnded):
            self._close_bar()
            if event.stopped:
                self._line(f"stopped after {event.epochs_completed} epoch(s)")
        elif isinstance(event, FoldEnded):
            what = f"{event.strategy} ({event.backbone}) " if event.strategy else ""
            self._line(f"{what}fold {event.fold}/{event.folds}: accuracy {event.accuracy:.1%}, "
                       f"macro-F1 {event.macro_f1:.3f} ({event.seconds:.1f} s)")

    def _bar(self, key: object, total: int, desc: str) -> tqdm:
        if self.bar is None or self.bar_key != key:
            self._close_bar()
            self.bar = tqdm(total=total, desc=desc, file=self.stream, leave=False,
                            dynamic_ncols=True, mininterval=0.2)
            self.bar_key = key
        return self.bar

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
