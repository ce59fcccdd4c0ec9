"""The recipe's `tensorboard` setting: TensorBoard event files in the run folder, written by a
callback from engine events (per-batch loss and lr, per-epoch losses, accuracies and lr, the
recipe as hyperparameters). Needs the optional tensorboard package (`tlstudio[tensorboard]`).
"""

from __future__ import annotations

from typing import Any

from tlstudio.errors import RecipeError
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder
from tlstudio.training.callbacks import LoopCallback
from tlstudio.training.events import BatchEnded, EpochEnded, Event, FitEnded, FitStarted

EPOCH_SCALARS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr")


def _summary_writer() -> type:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise RecipeError("The TensorBoard log needs the tensorboard package: pip install "
                          "'tlstudio[tensorboard]' (or turn the TensorBoard log off)") from None
    return SummaryWriter


def hyperparameters(recipe: Recipe) -> dict[str, Any]:
    """The recipe as TensorBoard hparams: numbers, strings and booleans as they are, the rest
    (None, lists, option sets) as text."""
    return {name: value if isinstance(value, int | float | str | bool) else str(value)
            for name, value in recipe.to_dict().items()}


class TensorBoardLog(LoopCallback):
    """Writes what the run reports into RUN/tensorboard as TensorBoard event files."""

    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe
        self._writer_class = _summary_writer()  # a missing package stops before training
        self._writer: Any = None
        self._last: EpochEnded | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, FitStarted):
            self._writer = self._writer_class(log_dir=str(RunFolder.at(event.run_dir).tensorboard))
            self._writer.add_text("recipe", f"```\n{self.recipe.to_json()}```")
        elif isinstance(event, FitEnded):
            self._close()
        elif self._writer is not None:
            super().__call__(event)

    def after_batch(self, event: BatchEnded) -> None:
        step = (event.epoch - 1) * event.batches + event.batch
        self._writer.add_scalar("batch/loss", event.loss, step)
        self._writer.add_scalar("batch/lr", event.lr, step)

    def after_epoch(self, event: EpochEnded) -> None:
        for name, value in _scalars(event).items():
            self._writer.add_scalar(f"epoch/{name}", value, event.epoch)
        self._writer.flush()  # a killed run keeps its curves up to the last epoch
        self._last = event

    def _close(self) -> None:
        if self._writer is None:
            return
        if self._last is not None:
            metrics = {f"hparam/{name}": value for name, value in _scalars(self._last).items()}
            self._writer.add_hparams(hyperparameters(self.recipe), metrics, run_name=".")
        self._writer.close()
        self._writer = None


def _scalars(event: EpochEnded) -> dict[str, float]:
    """The epoch's curves; a run on all images has no validation ones (None)."""
    values = {name: getattr(event, name) for name in EPOCH_SCALARS}
    return {name: value for name, value in values.items() if value is not None}
