"""An ensemble's own file (ensemble.json: method, members, weights, how it was scored) and its
model, rebuilt from it: every member's network, at its input size, in one EnsembleModel whose
weights are the folder's model weights."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import torch
from safetensors.torch import load_file

from tlstudio import atomic
from tlstudio.errors import ModelFileError
from tlstudio.models import EnsembleModel, build_classifier, take_saved_head
from tlstudio.runs.folder import RunFolder
from tlstudio.runs.model_files import ModelInfo, read_model_info

FORMAT = "tlstudio-ensemble"


@dataclass(frozen=True)
class EnsembleMember:
    run: str  # the member's run folder when the ensemble was made (its weights are copied)
    backbone: str  # the member's backbone name
    image_size: int  # the member's own input size; the ensemble's input is resized to it
    weight: float  # its share of the average (0 for a stacking ensemble's members)
    accuracy: float  # its accuracy on the ensemble's validation images
    macro_f1: float  # its macro-averaged F1 on them

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class EnsembleInfo:
    method: str  # average, weighted or stacking
    members: tuple[EnsembleMember, ...]
    scoring: str  # how the ensemble's own metrics were obtained, in words
    fitted_on: str = ""  # stacking: what the stacker was fitted on (out-of-fold or validation
    # predictions); "" for the other methods and for ensembles made before it was recorded

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(m.weight for m in self.members)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": 1, "method": self.method,
                "members": [m.to_dict() for m in self.members], "scoring": self.scoring,
                **({"fitted_on": self.fitted_on} if self.fitted_on else {})}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnsembleInfo:
        try:
            members = tuple(EnsembleMember(**m) for m in d["members"])
            return cls(str(d["method"]), members, str(d.get("scoring", "")),
                       str(d.get("fitted_on", "")))
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"The ensemble's description is incomplete or invalid: {e}") \
                from None


def save_ensemble_info(run_dir: str | os.PathLike[str], info: EnsembleInfo) -> None:
    atomic.write_json(RunFolder.at(run_dir).ensemble, info.to_dict())


def read_ensemble_info(run_dir: str | os.PathLike[str]) -> EnsembleInfo:
    path = RunFolder.at(run_dir).ensemble
    try:
        return EnsembleInfo.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as e:
        raise ModelFileError(f"Cannot read {path}: {e}") from None


def empty_ensemble(ensemble: EnsembleInfo, model: ModelInfo) -> EnsembleModel:
    """The ensemble's network with untrained members, ready for its weights."""
    classes = len(model.classes)
    members = [build_classifier(m.backbone, classes, pretrained=False).model
               for m in ensemble.members]
    stacker = None
    if ensemble.method == "stacking":
        stacker = torch.nn.Linear(classes * len(members), classes)
    return EnsembleModel(members, [m.image_size for m in ensemble.members], model.image_size,
                         ensemble.weights, stacker)


def load_ensemble_model(run_dir: str | os.PathLike[str]) -> tuple[EnsembleModel, ModelInfo]:
    """The ensemble of a run folder, in eval mode on the CPU."""
    info = read_model_info(run_dir)
    model = empty_ensemble(read_ensemble_info(run_dir), info)
    weights = RunFolder.at(run_dir).model_weights
    try:
        state = load_file(str(weights))
        for number, member in enumerate(model.members):  # a kNN member: stored features
            prefix = f"members.{number}."
            take_saved_head(member, {k.removeprefix(prefix): v for k, v in state.items()
                                     if k.startswith(prefix)})
        model.load_state_dict(state)
    except Exception as e:  # noqa: BLE001 - missing, corrupt or mismatched file
        raise ModelFileError(f"Cannot load {weights}: {e}") from None
    return model.eval(), info
