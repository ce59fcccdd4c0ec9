"""Errors a user can cause, each with a message a non-expert understands."""

from __future__ import annotations


class TlstudioError(Exception):
    """Base class: the window shows the message, the CLI prints it and exits non-zero."""


class DatasetError(TlstudioError):
    """The image folders cannot be used for training as they are."""


class WeightsError(TlstudioError):
    """Pretrained weights cannot be found, downloaded or read."""


class RecipeError(TlstudioError):
    """A recipe file or setting is invalid."""


class ExportError(TlstudioError):
    """An export could not be written or failed its check."""


class ModelFileError(TlstudioError):
    """A run folder or exported model cannot be loaded."""


class TrainingStopped(TlstudioError):
    """Training was stopped by the user before it finished."""


class OutputError(TlstudioError):
    """A file or folder cannot be written where asked (disk full, read-only, a file in the way)."""
