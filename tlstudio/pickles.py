"""What to say when a torch file a user gave cannot be read: tensors only are ever loaded
(``torch.load(..., weights_only=True)``), and a file holding more is refused in plain words.

PyTorch's own refusal advises ``weights_only=False``, which would run whatever code the file
carries; tlstudio never passes that advice on.
"""

from __future__ import annotations

import os
import pickle
import re

# PyTorch's message for a pickle that holds more than tensors (torch >= 2.4)
_REFUSAL = re.compile(r"weights.only", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # colour and cursor codes some versions add


def read_failure(path: str | os.PathLike[str], error: Exception) -> str:
    """The message for `torch.load(path, weights_only=True)` having raised `error`."""
    if isinstance(error, pickle.UnpicklingError) and _REFUSAL.search(str(error)):
        return (
            f"'{path}' holds Python code or objects, not just tensors, so tlstudio will not "
            "load it: opening such a file can run any program its author put in it. Use a "
            "safetensors file instead: many models are published as .safetensors, and a "
            "file you trust can be converted once with safetensors.torch.save_file("
            "state_dict, 'weights.safetensors')."
        )
    return f"Cannot read '{path}': {first_line(error)}"


def first_line(error: Exception) -> str:
    """The first line of a library's message, without terminal escape codes."""
    text = _ANSI.sub("", str(error)).strip()
    return text.splitlines()[0] if text else type(error).__name__
