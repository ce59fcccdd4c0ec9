"""The resume checkpoint: everything needed to continue a run from its last finished epoch.

``checkpoint.pt`` is written atomically after every epoch and read with ``weights_only=True``,
so it holds only tensors and plain Python values (random-number states included).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tlstudio import atomic
from tlstudio.errors import TlstudioError

CHECKPOINT = "checkpoint.pt"
VERSION = 1


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (plus the version) so a crash leaves the previous checkpoint intact."""
    state = {"version": VERSION, **state}
    atomic.write_with(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise TlstudioError(
            f"'{path.parent}' cannot be resumed: it has no {CHECKPOINT} (a run saves one after "
            "each finished epoch)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a corrupt or foreign file
        raise TlstudioError(f"Cannot read {path}: {e}") from None
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise TlstudioError(f"{path} was not written by this version of tlstudio")
    return state


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
