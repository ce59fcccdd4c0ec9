"""The runs an ensemble combines, read through `runs`: each one's model and its saved epoch's
validation probabilities, on the validation images every member shares; and the out-of-fold
predictions of cross-validated members, on the images they all scored out of fold."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from tlstudio.errors import EnsembleError, PredictionsError
from tlstudio.runs import (
    ModelInfo,
    RunInfo,
    load_model,
    load_predictions,
    read_oof_predictions,
    read_run_info,
)

# An out-of-fold row: the image's class index and the probabilities of the fold model that
# did not train on it.
OutOfFoldRow = tuple[int, tuple[float, ...]]


@dataclass(frozen=True)
class Member:
    run: RunInfo  # the member's run folder as read
    model: nn.Module  # its trained classifier (logits for [0, 1] RGB)
    info: ModelInfo  # its classes, input size and backbone
    files: tuple[str, ...]  # its validation images, in stored order
    targets: np.ndarray  # [N] their true class indices
    probabilities: np.ndarray  # [N, C] its saved epoch's probabilities for them
    out_of_fold: dict[str, OutOfFoldRow] | None = None  # by image path; None: not cross-validated


@dataclass(frozen=True)
class SharedOutOfFold:
    files: tuple[str, ...]  # images every member scored out of fold
    targets: np.ndarray  # [N] their true class indices
    probabilities: np.ndarray  # [M, N, C] each member's out-of-fold probabilities for them


@dataclass(frozen=True)
class SharedValidation:
    files: tuple[str, ...]  # images in every member's validation set, in the first's order
    targets: np.ndarray  # [N] their true class indices
    probabilities: np.ndarray  # [M, N, C] each member's probabilities for them
    note: str  # "" when every member was validated on the same images, else what differs


def read_members(run_dirs: Sequence[str | os.PathLike[str]]) -> list[Member]:
    """The runs as members; EnsembleError unless they are at least two trained runs with the
    same classes."""
    if len(run_dirs) < 2:
        raise EnsembleError("An ensemble needs at least two runs")
    members = [_read_member(run_dir) for run_dir in run_dirs]
    problem = class_mismatch([(m.run.path.name, m.info.classes) for m in members])
    if problem:
        raise EnsembleError(problem)
    return members


def class_mismatch(runs: Sequence[tuple[str, Sequence[str]]]) -> str | None:
    """Why runs (name, classes) cannot be combined for their classes, or None when they share
    them: the window says it before any run is read."""
    first_name, first = runs[0]
    for name, classes in runs[1:]:
        if tuple(classes) != tuple(first):
            return (f"The runs do not share classes: {first_name} has {', '.join(first)}; "
                    f"{name} has {', '.join(classes)}. Only runs trained on the same classes "
                    "can be combined")
    return None


def _read_member(run_dir: str | os.PathLike[str]) -> Member:
    run = read_run_info(run_dir)
    if run.folder.is_ensemble():
        raise EnsembleError(f"'{run_dir}' is itself an ensemble: combine its members instead")
    info = run.require_model()
    model, _ = load_model(run_dir)
    try:
        stored = load_predictions(run_dir)
        epoch = run.saved_epoch() or (stored.epochs[-1] if stored.epochs else 0)
        probabilities = stored.probabilities(epoch)
    except PredictionsError as e:
        raise EnsembleError(f"'{run_dir}' cannot be a member: {e}") from None
    return Member(run, model, info, stored.files, stored.targets, probabilities,
                  _out_of_fold(run, info.classes))


def _out_of_fold(run: RunInfo, classes: tuple[str, ...]) -> dict[str, OutOfFoldRow] | None:
    """The run's out-of-fold predictions (a cross-validated run writes them), when they are
    readable and for the model's classes."""
    if not run.folder.oof_predictions.is_file():
        return None
    try:
        rows, stored = read_oof_predictions(run.path)
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    if stored != classes or any(r.label not in classes for r in rows):
        return None
    return {r.path: (classes.index(r.label), r.probabilities) for r in rows}


def shared_out_of_fold(members: Sequence[Member], exclude: Collection[str]
                       ) -> SharedOutOfFold | None:
    """The images every member scored out of fold, less `exclude` (the images the ensemble is
    scored on); None when a member has no out-of-fold predictions or none are shared."""
    if any(m.out_of_fold is None for m in members):
        return None
    left = set(members[0].out_of_fold) - set(exclude)
    for member in members[1:]:
        left &= set(member.out_of_fold)
    files = tuple(sorted(left))
    if not files:
        return None
    targets = np.array([members[0].out_of_fold[f][0] for f in files])
    probabilities = np.array([[m.out_of_fold[f][1] for f in files] for m in members])
    return SharedOutOfFold(files, targets, probabilities)


def shared_validation(members: Sequence[Member]) -> SharedValidation:
    """The validation images all members were scored on, with each member's probabilities."""
    common = set(members[0].files)
    for member in members[1:]:
        common &= set(member.files)
    files = tuple(f for f in members[0].files if f in common)
    if not files:
        raise EnsembleError("The runs share no validation image, so the ensemble can be neither "
                            "fitted nor scored: train them on the same data with the same "
                            "validation split or folder")
    rows = []
    for member in members:
        where = {f: i for i, f in enumerate(member.files)}
        rows.append(member.probabilities[[where[f] for f in files]])
    first = {f: i for i, f in enumerate(members[0].files)}
    targets = members[0].targets[[first[f] for f in files]]
    differ = any(len(m.files) != len(files) for m in members)
    note = (f"The members' validation sets differ: only the {len(files)} images they share are "
            "used, and a member may have trained on images another validated on") if differ else ""
    return SharedValidation(files, targets, np.stack(rows), note)
