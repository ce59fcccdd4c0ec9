"""The card a finished run ends with: accuracy on the validation images, the weakest classes,
how long it took, and what to do next (look at mistakes, try images, export)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from tlstudio.runs import read_run_info


@dataclass(frozen=True)
class RunSummary:
    """What the card says about one finished run."""

    run_dir: str
    epoch: int  # the epoch whose weights are the saved model
    epochs: int  # epochs trained
    accuracy: float | None  # validation accuracy of the saved model's epoch (None: all_data)
    weakest: tuple[tuple[str, float], ...]  # up to three classes, lowest accuracy first
    seconds: float  # training time, all epochs together

    def text(self) -> str:
        from tlstudio.gui.training.training_view import format_duration  # it holds this card

        which = (f"epoch {self.epoch} of {self.epochs}, the best one" if self.epoch != self.epochs
                 else f"after {self.epochs} epoch{'s' if self.epochs != 1 else ''}")
        weak = ", ".join(f"{name} {acc:.0%}" for name, acc in self.weakest)
        measured = (f"<b>{self.accuracy:.1%}</b> of the validation images are classified "
                    f"correctly ({which})." if self.accuracy is not None else
                    f"<b>Trained on all images: no validation accuracy</b> ({which}); no image "
                    "was held out to measure it.")
        lines = [measured,
                 f"Weakest classes: {weak}." if weak else "",
                 f"Training took {format_duration(self.seconds)}.",
                 "Next: look at the mistakes, try images of your own, or export the model."]
        return "<br>".join(line for line in lines if line)


def summarize(result: object, seconds: float | None = None) -> RunSummary | None:
    """The summary of a finished `RunResult` that took `seconds` from Train to its end
    (default: its epochs' time); None when no epoch finished."""
    epochs = tuple(getattr(result, "epochs", ()))
    if not epochs:
        return None
    saved = read_run_info(result.run_dir).saved_epoch(len(epochs)) or len(epochs)
    chosen = epochs[min(saved, len(epochs)) - 1]
    per_class = [(name, acc) for name, acc in zip(result.classes, chosen.per_class_accuracy,
                                                  strict=False) if acc is not None]
    weakest = tuple(sorted(per_class, key=lambda c: c[1])[:3]) if len(per_class) > 1 else ()
    return RunSummary(result.run_dir, chosen.epoch, len(epochs), chosen.val_accuracy, weakest,
                      sum(e.seconds for e in epochs) if seconds is None else seconds)


class ResultCard(QFrame):
    """`resultSummary`: hidden until a run finishes; its buttons say what to do next."""

    mistakesRequested = Signal()
    tryRequested = Signal()
    exportRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="resultSummary")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Result of the run")
        self.title = QLabel("<b>Training finished</b>", objectName="resultTitle")
        self.body = QLabel(objectName="resultText", wordWrap=True)
        self.body.setAccessibleName("Result of the run")
        buttons = QHBoxLayout()
        for text, name, signal, tip in (
                ("Look at mistakes", "summaryMistakes", self.mistakesRequested,
                 "The Gallery with only the misclassified validation images"),
                ("Try images", "summaryTryImages", self.tryRequested,
                 "Classify images of your own with this model"),
                ("Export model…", "summaryExport", self.exportRequested,
                 "Save the model as ONNX, TorchScript or safetensors")):
            button = QPushButton(text, objectName=name, toolTip=tip)
            button.clicked.connect(signal)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        layout.addLayout(buttons)
        self.summary: RunSummary | None = None
        self.hide()

    def show_summary(self, summary: RunSummary | None) -> None:
        self.summary = summary
        if summary is None:
            self.hide()
            return
        self.body.setText(summary.text())
        self.setAccessibleDescription(self.body.text().replace("<br>", " "))
        self.show()
