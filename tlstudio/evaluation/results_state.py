"""What the Results tab shows and is fetching, as a value with pure transitions (no Qt): which
run, which epoch, the saved model's epoch, following training or not, a labelled folder asked
for, the matrix cell opened. The window renders a ResultsState and starts the `loading` it
names."""

from __future__ import annotations

from dataclasses import dataclass, replace
from html import escape
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from tlstudio.evaluation.run_eval import RunEvaluation


@dataclass(frozen=True)
class ShownResults:
    """What one load brought back."""

    evaluation: RunEvaluation
    epoch: int | None  # the epoch of stored predictions shown; None: the model was run
    epochs: int  # last stored epoch of the run (0: none stored), as read by the job
    model_epoch: int | None = None  # the epoch of the run's saved model, when the job read it


@dataclass(frozen=True)
class Load:
    """Results being fetched: the run as opened (its saved model's epoch), one stored
    epoch's predictions, or the model run on a labelled folder."""

    kind: Literal["open", "epoch", "model"]
    epoch: int | None = None  # with "epoch"
    folder: str | None = None  # with "model"


@dataclass(frozen=True)
class ResultsState:
    """The Results tab at one moment; each transition returns the next state, untouched
    otherwise (frozen), so the view can compare the two and tests need no widget."""

    run_dir: str | None = None  # the run shown; None: nothing opened or trained yet
    training: bool = False  # the run is training: epochs keep arriving
    epochs: int = 0  # the last stored epoch, the slider's end; 0: none yet
    epoch: int = 1  # the epoch the slider points at
    model_epoch: int | None = None  # the epoch of the run's saved model, once known
    shown: RunEvaluation | None = None  # on screen now
    shown_epoch: int | None = None  # its epoch; None: the model was run (or nothing shown)
    shown_folder: str | None = None  # its labelled folder; None: the run's validation images
    folder: str | None = None  # the labelled folder asked for, shown or being evaluated
    folders: tuple[str, ...] = ()  # folders chosen for this run, offered again
    loading: Load | None = None  # what is being fetched now
    cell: tuple[str, str] | None = None  # the matrix cell opened last: (true, predicted)

    # ---- a run -----------------------------------------------------------------------------

    @classmethod
    def opened(cls, run_dir: str) -> ResultsState:
        """A finished run opened from disk: its saved model's epoch is fetched."""
        return cls(run_dir=run_dir, loading=Load("open"))

    @classmethod
    def training_started(cls, run_dir: str) -> ResultsState:
        return cls(run_dir=run_dir, training=True)

    def epoch_ended(self, epoch: int) -> ResultsState:
        """A training epoch's predictions are stored: the slider grows; it follows (and the
        epoch is fetched) if the user was looking at the latest epoch."""
        if self.run_dir is None or not self.training:
            return self
        following = self.shown_epoch is None or self.epoch >= self.epochs
        state = replace(self, epochs=epoch, epoch=epoch if following else self.epoch)
        return state._fetch_epoch(epoch) if following and self.folder is None else state

    def training_finished(self, model_epoch: int | None) -> ResultsState:
        """Training ended; with a saved model (`model_epoch`), that epoch is shown unless a
        folder is."""
        state = replace(self, training=False)
        if model_epoch is None or self.run_dir is None or not self.epochs:
            return state
        state = replace(state, model_epoch=model_epoch)
        if self.folder is None and model_epoch != self.epoch:
            state = state.epoch_chosen(model_epoch)
        return state

    # ---- the user's choices ----------------------------------------------------------------

    def epoch_chosen(self, epoch: int) -> ResultsState:
        """The slider moved: that epoch on the validation images."""
        return replace(self, epoch=epoch, folder=None)._fetch_epoch(epoch)

    def validation_chosen(self) -> ResultsState:
        """"Validation images of the run" chosen again."""
        state = replace(self, folder=None)
        if state.epochs:
            return state._fetch_epoch(state.epoch)
        return replace(state, loading=Load("open")) if state.run_dir is not None else state

    def folder_chosen(self, folder: str) -> ResultsState:
        """Evaluate the run's model on a labelled folder."""
        folders = self.folders if folder in self.folders else (*self.folders, folder)
        return replace(self, folder=folder, folders=folders, loading=Load("model", folder=folder))

    def cell_opened(self, true: str, predicted: str) -> ResultsState:
        """A matrix cell was clicked (its images go to the Gallery)."""
        return replace(self, cell=(true, predicted))

    def evaluation_cancelled(self) -> ResultsState:
        """Back to what is still on screen."""
        return replace(self, loading=None, folder=self.shown_folder)

    # ---- what the loads bring -------------------------------------------------------------

    def results_arrived(self, results: ShownResults) -> ResultsState:
        """The load ended with `results`: they are on screen now."""
        state = self
        if results.model_epoch is not None and not self.training:
            # An opened run: now its epochs are known, and its saved model's is shown.
            state = replace(state, model_epoch=results.model_epoch, epochs=results.epochs,
                            epoch=max(1, results.epoch or results.epochs))
        elif results.epoch is not None and results.epochs > self.epochs and not self.training:
            state = replace(state, epochs=results.epochs, epoch=max(1, results.epochs))
        classes = results.evaluation.evaluation.classes
        cell = self.cell if self.cell and set(self.cell) <= set(classes) else None
        return replace(state, shown=results.evaluation, shown_epoch=results.epoch,
                       shown_folder=self.folder, loading=None, cell=cell)

    def load_failed(self) -> ResultsState:
        """The load failed: a folder that never showed is no longer offered."""
        failed = self.folder
        folders = self.folders
        if failed is not None and failed != self.shown_folder:
            folders = tuple(f for f in folders if f != failed)
        return replace(self, folder=self.shown_folder, folders=folders, loading=None)

    # ---- words -----------------------------------------------------------------------------

    def epoch_caption(self) -> str:
        if not self.epochs:
            return "No epoch yet"
        saved = " · the saved model" if self.epoch == self.model_epoch else ""
        return f"Epoch {self.epoch} of {self.epochs}{saved}"

    def saved_model_differs(self) -> bool:
        """The epoch on screen is not the saved model's (both known)."""
        return (self.shown_epoch is not None and self.model_epoch is not None
                and self.shown_epoch != self.model_epoch)

    def summary_html(self, saved_accuracy: float | None = None) -> str:
        """The line above the matrix: accuracy on which images, what was left out, and, when
        another epoch is shown, which one the saved model is (`saved_accuracy`: how it did)."""
        if self.shown is None:
            return ""
        ev = self.shown.evaluation
        skipped = (f" ({len(self.shown.skipped)} unreadable files left out)"
                   if self.shown.skipped else "")
        note = ev.absent_note()
        text = (f"<b>Accuracy {ev.accuracy:.1%}</b> on {ev.total} images: "
                f"{escape(self.shown.images)}{skipped}." + (f"<br>{escape(note)}" if note else ""))
        if self.saved_model_differs():
            score = (f" ({saved_accuracy:.1%} on these images)"
                     if saved_accuracy is not None else "")
            text += f"<br>The saved model is epoch {self.model_epoch}'s{score}."
        return text

    def _fetch_epoch(self, epoch: int) -> ResultsState:
        return replace(self, loading=Load("epoch", epoch=epoch))
