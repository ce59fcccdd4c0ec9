"""Every error a user can cause, in one place: a message a non-expert understands, plus the
remedies (as data) that each front-end words in its own terms (see tlstudio.failures).

Cancellation is not a failure: every way of stopping work on request derives from `Cancelled`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum


class Remedy(Enum):
    """Something the user can do about a failure; `tlstudio.failures` words it per front-end."""

    CHOOSE_OUT = "choose_out"  # write the run somewhere else
    OVERWRITE = "overwrite"  # replace the run already in the folder
    RESUME = "resume"  # continue the run already in the folder
    BALANCE = "balance"  # a weighted sampler or a class-weighted loss for uneven classes
    GO_ONLINE = "go_online"  # download the weights once
    BUNDLED_BACKBONE = "bundled_backbone"  # pick a backbone whose weights ship with tlstudio
    GIVE_WEIGHTS_FILE = "give_weights_file"  # use a local weights file
    SMALLER_BATCH = "smaller_batch"  # lower the batch size or image size (out of memory)
    FIX_UNFREEZE = "fix_unfreeze"  # correct the parameter-name patterns to train
    MORE_EPOCHS = "more_epochs"  # resume a finished run with a larger total of epochs
    LABELLED_FOLDER = "labelled_folder"  # evaluate on another folder of class folders
    CONTINUE_RUN = "continue_run"  # resume the interrupted run (paths: run)
    START_AGAIN = "start_again"  # start the run again in its folder (paths: run, recipe)
    WAIT_OR_CHOOSE_OUT = "wait_or_choose_out"  # another training writes there: wait, or elsewhere
    INSTALL_DEPLOY = "install_deploy"  # install the converters and runtimes of the deploy extra
    OTHER_QUANTIZATION = "other_quantization"  # a quantization the chosen format supports
    MOVE_COMPARISON = "move_comparison"  # a comparison is in the folder: elsewhere, or remove it


class TlstudioError(Exception):
    """Base class: the window shows the message, the CLI prints it and exits non-zero.

    ``str(error)`` is the message alone; `tlstudio.failures.describe_failure` adds the remedies
    in the words of the front-end that shows it.
    """

    def __init__(self, message: str = "", *, remedies: Iterable[Remedy] = (),
                 paths: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedies: tuple[Remedy, ...] = tuple(remedies)
        # What remedies act on, where their words name it: {"run": folder, "recipe": file}.
        self.paths: dict[str, str] = dict(paths or {})


class DatasetError(TlstudioError):
    """The image folders cannot be used for training as they are."""


class UnreadableImage(DatasetError):  # noqa: N818 - an outcome, named as the user sees it
    """A file that cannot be decoded as an image; `reason` is short and human."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WeightsError(TlstudioError):
    """Pretrained weights cannot be found, downloaded or read."""


class RecipeError(TlstudioError):
    """A recipe file or setting is invalid."""


class RunFolderBusyError(RecipeError):
    """Another process is training into the folder right now."""


class ExportError(TlstudioError):
    """An export could not be written or failed its check."""


class ModelFileError(TlstudioError):
    """A run folder or exported model cannot be loaded."""


class PredictionsError(TlstudioError):
    """A run folder has no readable stored validation predictions."""


class EnsembleError(TlstudioError):
    """These runs cannot be combined into an ensemble (different classes, no shared images)."""


class EvaluationError(TlstudioError):
    """A run cannot be evaluated on the images given."""


class CalibrationError(TlstudioError):
    """A run's confidence cannot be calibrated (too few validation images, none stored)."""


class ServeError(TlstudioError):
    """The prediction server cannot start (the address is taken or not allowed)."""


class RequestRefused(TlstudioError):  # noqa: N818 - an HTTP answer, named as the client sees it
    """A prediction request the client got wrong (too large, no image): the server answers
    with `status` and the message; it never reaches a terminal."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class RelabelError(TlstudioError):
    """An image could not be moved; it is still where it was."""


class SaliencyError(TlstudioError):
    """A saliency map cannot be computed for this image."""


class Cancelled(TlstudioError):  # noqa: N818 - a cancellation is not an error
    """The user stopped the work before it finished; nothing is shown as a failure for it."""


class TrainingStopped(Cancelled):
    """Training (or a download it needed) was stopped by the user before it finished."""


class DownloadCancelled(TrainingStopped):
    """A weights download was cancelled (a run that needed the weights stops with it)."""


class ScanCancelled(Cancelled, DatasetError):  # noqa: N818 - a cancellation is not an error
    """The user cancelled a folder scan."""


class EvaluationCancelled(Cancelled):
    """The user cancelled an evaluation; nothing is shown for it."""


class OutputError(TlstudioError):
    """A file or folder cannot be written where asked (disk full, read-only, a file in the way)."""
