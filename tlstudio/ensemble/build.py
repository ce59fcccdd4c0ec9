"""`tlstudio ensemble`: combine trained runs into one run folder holding every member's network
(export, predict, report and the window open it like any run) and its own validation scores."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tlstudio.ensemble.combine import Combination, combine
from tlstudio.ensemble.members import (
    Member,
    read_members,
    shared_out_of_fold,
    shared_validation,
)
from tlstudio.errors import EnsembleError
from tlstudio.evaluation import evaluate_predictions
from tlstudio.models import EnsembleModel
from tlstudio.runs import (
    EnsembleInfo,
    EnsembleMember,
    ModelInfo,
    RunFolder,
    claim_run_folder,
    save_ensemble_info,
    save_epoch_predictions,
    save_model,
)

# The ensemble's input is [0, 1] RGB; each member normalizes its own copy inside the network.
NO_NORMALIZATION = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


@dataclass(frozen=True)
class EnsembleResult:
    run_dir: str  # the ensemble's run folder
    info: EnsembleInfo  # method, members (with weights and scores), how it was scored
    accuracy: float  # the ensemble's accuracy on the shared validation images
    macro_f1: float  # its macro-averaged F1 there
    images: int  # how many validation images scored it
    note: str  # "" or a caution about the members' validation sets


def build_ensemble(run_dirs: Sequence[str | os.PathLike[str]], method: str,
                   out_dir: str | os.PathLike[str], overwrite: bool = False) -> EnsembleResult:
    """Combine the runs by `method` (average, weighted or stacking) into `out_dir`.

    EnsembleError for runs that cannot be combined (fewer than two, different classes, no
    shared validation image, `out_dir` one of them); the folder is claimed (and checked
    writable) before any work."""
    if any(os.path.realpath(r) == os.path.realpath(out_dir) for r in run_dirs):
        raise EnsembleError(f"'{out_dir}' is one of the runs to combine: choose another folder "
                            "for the ensemble")
    with claim_run_folder(out_dir, overwrite=overwrite):
        begun = time.perf_counter()
        members = read_members(run_dirs)
        shared = shared_validation(members)
        classes = members[0].info.classes
        combination = combine(method, shared.probabilities, shared.targets, len(classes),
                              _out_of_fold(members, shared.files) if method == "stacking"
                              else None)
        seconds = time.perf_counter() - begun
        info = EnsembleInfo(method, tuple(
            _member(m, weight, probs, shared.targets) for m, weight, probs in
            zip(members, combination.weights, shared.probabilities, strict=True)),
            combination.scoring, combination.fitted_on)
        accuracy, macro_f1 = scores(combination.probabilities, shared.targets, classes)
        result = EnsembleResult(str(out_dir), info, accuracy, macro_f1, len(shared.files),
                                shared.note)
        _write(out_dir, members, combination, info, shared, result, seconds)
    return result


def _out_of_fold(members: Sequence[Member], validation: Sequence[str]
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """What a stacker may be fitted on besides the validation images: the out-of-fold
    predictions every member has (cross-validated runs), without the validation images."""
    found = shared_out_of_fold(members, validation)
    return None if found is None else (found.probabilities, found.targets)


def scores(probabilities: np.ndarray, targets: np.ndarray,
           classes: tuple[str, ...]) -> tuple[float, float]:
    """Accuracy and macro-F1 of these probabilities."""
    ev = evaluate_predictions(targets.tolist(), probabilities.argmax(1).tolist(), classes)
    return ev.accuracy, float(ev.macro.f1 or 0.0)


def _member(member: Member, weight: float, probabilities: np.ndarray,
            targets: np.ndarray) -> EnsembleMember:
    accuracy, macro_f1 = scores(probabilities, targets, member.info.classes)
    return EnsembleMember(str(member.run.path), member.info.backbone, member.info.image_size,
                          float(weight), accuracy, macro_f1)


def ensemble_model(members: Sequence[Member], combination: Combination) -> EnsembleModel:
    """Every member's network in one, fed at the largest member input size."""
    sizes = [m.info.image_size for m in members]
    return EnsembleModel([m.model for m in members], sizes, max(sizes),
                         combination.weights.tolist(), combination.stacker).eval()


def _write(out_dir: str | os.PathLike[str], members: Sequence[Member],
           combination: Combination, info: EnsembleInfo, shared: Any,
           result: EnsembleResult, seconds: float) -> None:
    model = ensemble_model(members, combination)
    classes = members[0].info.classes
    model_info = ModelInfo("+".join(m.backbone for m in info.members), classes,
                           model.image_size, *NO_NORMALIZATION, recipe={})
    save_epoch_predictions(out_dir, 1, combination.probabilities, shared.targets,
                           shared.files, classes)
    save_ensemble_info(out_dir, info)  # before the model: it says how to rebuild it
    save_model(out_dir, model, model_info)
    RunFolder.at(out_dir).write_metrics(_metrics(info, result, model_info, seconds))


def _metrics(info: EnsembleInfo, result: EnsembleResult, model: ModelInfo,
             seconds: float) -> dict[str, Any]:
    return {
        "classes": list(model.classes),
        "backbone": model.backbone,
        "strategy": f"ensemble-{info.method}",
        "epochs": [],  # nothing trained: its scores are below
        "stopped": False,
        "members": [m.to_dict() for m in info.members],
        "ensemble": {"method": info.method, "accuracy": result.accuracy,
                     "macro_f1": result.macro_f1, "images": result.images,
                     "scoring": info.scoring, "seconds": seconds, "note": result.note,
                     **({"fitted_on": info.fitted_on} if info.fitted_on else {})},
    }
