"""The resume checkpoint: everything needed to continue a run from its last finished epoch.

The checkpoint is written atomically after every epoch and read with ``weights_only=True``,
so it holds only tensors and plain Python values (random-number states included).

For tests only: with ``TLSTUDIO_TEST_PAUSE_BEFORE_RENAME=SECONDS`` set, the writer waits that long
after the new checkpoint's temp file is complete and before it replaces checkpoint.pt, so a test
can kill the process in that window. Unset (always, outside tests), it does nothing.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tlstudio import atomic
from tlstudio.errors import TlstudioError
from tlstudio.pickles import read_failure
from tlstudio.runs.folder import RunFolder

VERSION = 1
PAUSE_BEFORE_RENAME = "TLSTUDIO_TEST_PAUSE_BEFORE_RENAME"  # tests: see the module docstring


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus the version) so a crash leaves the previous checkpoint intact."""
    state = {"version": VERSION, **state}

    def write(tmp: Path) -> None:
        # Through a Python file: a full disk then raises OSError (torch's own file writer
        # raises a RuntimeError that says nothing about the disk).
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
        time.sleep(float(os.environ.get(PAUSE_BEFORE_RENAME) or 0))

    atomic.write_with(path, write)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = _existing(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a corrupt or foreign file
        raise TlstudioError(read_failure(path, e)) from None
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise TlstudioError(f"{path} was not written by this version of tlstudio")
    return state


def finished_epochs(run_dir: str | Path) -> int:
    """Epochs the run's checkpoint holds (TlstudioError when it has none or cannot be read).

    Memory-mapped, so a large model's checkpoint is not read whole just to count its epochs.
    """
    path = _existing(RunFolder.at(run_dir).checkpoint)
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["epoch"])
    except Exception:  # noqa: BLE001 - corrupt or foreign: load_checkpoint's message says which
        return int(load_checkpoint(path)["epoch"])


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        from tlstudio.runs.unfinished import cannot_resume

        raise cannot_resume(path.parent)
    return path


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """The global torch, numpy and Python random states and the data-order generator's."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "data_order": generator.get_state(),
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "cached": cached},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["data_order"])
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
