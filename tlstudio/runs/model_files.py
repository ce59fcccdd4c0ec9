"""The trained model as files (weights as safetensors, and a JSON description), written
atomically; `runs.folder` names them.

The description says everything a client needs to reproduce the preprocessing without tlstudio.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from tlstudio import atomic
from tlstudio.data import describe_eval_transform
from tlstudio.errors import ModelFileError
from tlstudio.models import Classifier, build_classifier, take_saved_head
from tlstudio.runs.folder import MODEL_INFO, RunFolder

FORMAT = "tlstudio-model"


@dataclass(frozen=True)
class ModelInfo:
    backbone: str
    classes: tuple[str, ...]
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    recipe: dict[str, Any]
    # Logits are divided by this before softmax (temperature scaling; 1 = as trained).
    temperature: float = 1.0
    # A top probability below this is reported as "unknown" (0 = always the top class).
    unknown_below: float = 0.0
    # How the temperature was fitted: images, epoch, ece_before, ece_after; None = not calibrated.
    calibration: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": 1,
            "backbone": self.backbone,
            "classes": list(self.classes),
            "image_size": self.image_size,
            "input": (
                f"float32 RGB in [0, 1], NCHW, {self.image_size}x{self.image_size}; "
                "the model normalizes internally with mean/std"
            ),
            "output": "logits, one per class in the order of 'classes' (divide by 'temperature', "
                      "then softmax, for probabilities)",
            "mean": list(self.mean),
            "std": list(self.std),
            "preprocessing": describe_eval_transform(self.image_size),
            "recipe": self.recipe,
            "temperature": self.temperature,
            "unknown_below": self.unknown_below,
            **({"calibration": self.calibration} if self.calibration else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelInfo:
        try:
            return cls(
                backbone=d["backbone"],
                classes=tuple(d["classes"]),
                image_size=int(d["image_size"]),
                mean=tuple(d["mean"]),
                std=tuple(d["std"]),
                recipe=d.get("recipe", {}),
                temperature=float(d.get("temperature", 1.0)),
                unknown_below=float(d.get("unknown_below", 0.0)),
                calibration=d.get("calibration"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"{MODEL_INFO} is incomplete or invalid: {e}") from None


def save_weights(path: str | Path, model: torch.nn.Module) -> None:
    """The model's state dict as safetensors, written atomically (never half a file)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic.write_bytes(path, save(state))  # bytes: a failed write raises OSError here


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def save_model(run_dir: str | Path, model: torch.nn.Module, info: ModelInfo,
               same_as: str | Path | None = None) -> None:
    """The run's model and its description; `same_as`, a weights file already holding exactly
    these weights (the best epoch's, when it is the last), becomes the model's weights file
    too (a hard link) instead of being written again, where the file system allows."""
    folder = RunFolder.at(run_dir)
    if same_as is None or not atomic.link(same_as, folder.model_weights):
        save_weights(folder.model_weights, model)
    atomic.write_json(folder.model_info, info.to_dict())


def write_model_info(run_dir: str | Path, info: ModelInfo) -> None:
    """Replace model.json (e.g. with a fitted temperature); the weights stay as they are."""
    atomic.write_json(RunFolder.at(run_dir).model_info, info.to_dict())


EXPORTS = "exports"  # the description's record of each export: variant -> its measurements


def record_export(run_dir: str | Path, variant: str, record: dict[str, Any]) -> None:
    """Keep `record` (what `export --json` prints) under `exports` in the run's description."""
    path = RunFolder.at(run_dir).model_info
    try:
        description = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{path} cannot be read to record the export: {e}") from None
    description.setdefault(EXPORTS, {})[variant] = record
    atomic.write_json(path, description)


def read_export_records(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """The records `record_export` kept (variant -> measurements); none for an unreadable file."""
    try:
        description = json.loads(RunFolder.at(run_dir).model_info.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    records = description.get(EXPORTS)
    return records if isinstance(records, dict) else {}


def read_model_info(run_dir: str | Path) -> ModelInfo:
    path = RunFolder.at(run_dir).model_info
    try:
        return ModelInfo.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (FileNotFoundError, NotADirectoryError):  # the latter: a file given as the run
        raise _no_model(run_dir) from None
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path} is not valid JSON: {e}") from None


def _no_model(run_dir: str | Path) -> ModelFileError:
    from tlstudio.runs.unfinished import can_resume, no_model_yet  # it imports this module

    if can_resume(run_dir):  # killed mid-run: its model is saved when the run ends
        return no_model_yet(run_dir)
    if Path(run_dir).is_file():
        return ModelFileError(f"'{run_dir}' is a file, not a run folder")
    folds = RunFolder.at(run_dir).fold(1).parent
    if folds.is_dir():
        return ModelFileError(f"'{run_dir}' is a cross-validation run: it holds one model per "
                              f"fold, in '{folds}{os.sep}N', not one model; give a fold's folder, "
                              "or train the final model with --all-data")
    return ModelFileError(f"'{run_dir}' is not a tlstudio run: it has no {MODEL_INFO}")


def load_model(run_dir: str | Path) -> tuple[Classifier, ModelInfo]:
    """The trained classifier of a run folder (an EnsembleModel for an ensemble's: it too
    returns logits for [0, 1] RGB), in eval mode on the CPU."""
    if RunFolder.at(run_dir).is_ensemble():
        from tlstudio.runs.ensemble_files import load_ensemble_model  # it imports this module

        return load_ensemble_model(run_dir)  # type: ignore[return-value]
    info = read_model_info(run_dir)
    weights = RunFolder.at(run_dir).model_weights
    if not weights.is_file():
        raise ModelFileError(f"'{run_dir}' has no {weights.name}: did training finish?")
    built = build_classifier(info.backbone, len(info.classes), pretrained=False)
    try:
        state = load_file(str(weights))
        take_saved_head(built.model, state)  # a kNN head: stored features instead of a layer
        built.model.load_state_dict(state)
    except Exception as e:  # noqa: BLE001 - corrupt or mismatched file
        raise ModelFileError(f"Cannot load {weights}: {e}") from None
    return built.model.eval(), info
