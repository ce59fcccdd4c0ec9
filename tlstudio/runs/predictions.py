"""The validation probabilities of every epoch, kept in the run folder (as safetensors) so that
views and reports can show any epoch's confusion matrix without running the model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save

from tlstudio import atomic
from tlstudio.errors import PredictionsError
from tlstudio.runs.folder import RunFolder

_EPOCH_KEY = "epoch_{:04d}"


@dataclass(frozen=True)
class StoredPredictions:
    files: tuple[str, ...]  # absolute image paths, in validation order
    classes: tuple[str, ...]  # class names; targets and probability columns index them
    targets: np.ndarray  # [N] true class index of each image
    by_epoch: dict[int, np.ndarray]  # epoch -> [N, C] softmax probabilities

    @property
    def epochs(self) -> list[int]:
        return sorted(self.by_epoch)

    def probabilities(self, epoch: int) -> np.ndarray:
        if epoch not in self.by_epoch:
            have = ", ".join(map(str, self.epochs)) or "none"
            raise PredictionsError(f"No stored predictions for epoch {epoch} (stored: {have})")
        return self.by_epoch[epoch]


def save_epoch_predictions(
    run_dir: str | os.PathLike[str],
    epoch: int,
    probabilities: np.ndarray,
    targets: np.ndarray,
    files: tuple[str, ...],
    classes: tuple[str, ...],
) -> None:
    """Add (or replace) one epoch's probabilities; epochs after it are dropped, since a resumed
    run retrains them. The file is rewritten atomically."""
    path = RunFolder.at(run_dir).predictions
    kept = _read(path) if path.is_file() else None
    by_epoch = {} if kept is None or kept.files != tuple(files) else {
        e: p for e, p in kept.by_epoch.items() if e < epoch}
    by_epoch[epoch] = np.asarray(probabilities, dtype=np.float32)
    tensors = {_EPOCH_KEY.format(e): torch.from_numpy(np.ascontiguousarray(p))
               for e, p in by_epoch.items()}
    tensors["targets"] = torch.from_numpy(np.asarray(targets, dtype=np.int64))
    metadata = {"files": json.dumps(list(files)), "classes": json.dumps(list(classes))}
    atomic.write_bytes(path, save(tensors, metadata=metadata))  # see artifacts.save_weights


def load_predictions(run_dir: str | os.PathLike[str]) -> StoredPredictions:
    folder = RunFolder.at(run_dir)
    path = folder.predictions
    if not path.is_file() and _all_data(folder):
        raise PredictionsError(f"'{run_dir}' trained on all images: no validation accuracy (no "
                               "image was held out to score)")
    if not path.is_file():
        raise PredictionsError(f"'{run_dir}' has no stored validation predictions yet "
                               "(they are written after each epoch)")
    return _read(path)


def _all_data(folder: RunFolder) -> bool:
    """The run trained on every image (recipe all_data), so it never stores predictions."""
    return bool(folder.read_metrics().get("all_data"))


def _read(path: Path) -> StoredPredictions:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            files = tuple(json.loads(meta["files"]))
            classes = tuple(json.loads(meta["classes"]))
            targets = f.get_tensor("targets").numpy()
            by_epoch = {int(k.split("_")[1]): f.get_tensor(k).numpy()
                        for k in f.keys() if k.startswith("epoch_")}
    except Exception as e:  # noqa: BLE001 - a corrupt or foreign file, whatever the library says
        raise PredictionsError(f"Cannot read {path}: {e}") from None
    return StoredPredictions(files, classes, targets, by_epoch)
