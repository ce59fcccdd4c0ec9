"""The fit: recipe in, run folder out, as a sequence of named stages (`training.stages`, then
`training.epoch_loop`) over one FitState, and resuming an interrupted or finished run.

It reports through events and checks a RunControl between batches; it never prints. It holds
the run folder's claim for its whole length, so no other process writes into the same folder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlstudio import atomic
from tlstudio.data import DatasetScan
from tlstudio.devices import resolve_device
from tlstudio.errors import RecipeError, Remedy, TlstudioError
from tlstudio.models import parameter_counts
from tlstudio.recipe import Recipe
from tlstudio.runs import (
    RunClaim,
    RunFolder,
    claim_free_run_folder,
    claim_run_folder,
    finished_epochs,
    load_checkpoint,
)
from tlstudio.runs.checkpoint import restore_rng
from tlstudio.training import adaptation, data_controls, stages
from tlstudio.training.checkpoint_model import restore_model
from tlstudio.training.epoch_loop import finish, train_epochs
from tlstudio.training.events import Callback, EpochEnded, FitStarted, LogMessage, RunControl
from tlstudio.training.feature_cache import FeatureStore
from tlstudio.training.stages import FitState

__all__ = ["RunResult", "fit", "resolve_device", "resume_recipe", "resume_run", "resumable_run"]


@dataclass(frozen=True)
class RunResult:
    run_dir: str
    classes: tuple[str, ...]
    epochs: tuple[EpochEnded, ...]
    stopped: bool


def fit(
    recipe: Recipe,
    callbacks: Sequence[Callback] = (),
    control: RunControl | None = None,
    resume: bool = False,
    overwrite: bool = False,
    fresh_folder: bool = False,
    scans: tuple[DatasetScan, DatasetScan] | None = None,
    features: FeatureStore | None = None,
) -> RunResult:
    """Train a head (and any unfrozen stages) on the recipe's folders; write the run folder.

    ``callbacks`` are plain one-event callables; LoopCallbacks among them may also act on the
    run (stop it, change the lr). The recipe's own callbacks (best epoch, early stopping,
    reduce-on-plateau, NaN stop) run after them. With ``resume`` the run continues from the
    out_dir's checkpoint (see ``resume_run``); without it, an out_dir that already holds a run
    is refused (RecipeError) unless ``overwrite``, which first removes the old run's files, or
    ``fresh_folder``, which writes to the first free ``out_dir-2``, ``-3``, ... instead. A
    folder another process trains into is refused (RunFolderBusyError). ``scans`` (training,
    validation) replace scanning the recipe's folders; ``features`` shares the frozen
    backbone's features with other fits on the same images (a comparison's head strategies).
    The recipe's ``folds`` is for the front-ends (`cross_validate`); a fit trains once. Auto
    domain adaptation first trains each method in a scratch folder, then this run with the best
    (``training.adapt_auto``).
    """
    if resume and overwrite:
        raise ValueError("a run is either resumed or overwritten, not both")
    choice = None
    if recipe.adapt == "auto":
        from tlstudio.training.adapt_auto import choose_adaptation

        chosen = choose_adaptation(recipe, fit, callbacks, control, scans)
        recipe, choice = recipe.replace(adapt=chosen.method), chosen.to_dict()
    state = stages.start(recipe, callbacks, control)
    state.feature_store = features
    with _claim_for(state, resume, overwrite, fresh_folder) as folder:
        # Every process resumes from the run folder's checkpoint (rank 0's folder).
        checkpoint = (_resumable_checkpoint(RunFolder.at(state.recipe.out_dir), state.recipe)
                      if resume else None)
        atomic.remove_leftovers(folder.path)  # half-written files of a killed run: never read
        stages.prepare_data(state, scans)
        adaptation.prepare_target(state)
        stages.build_model(state)
        state.recipe.save(folder.recipe)
        stages.make_loaders(state)
        adaptation.attach(state)
        _announce(state, checkpoint)
        stages.set_up_training(state, folder.path)
        state.metrics = _first_metrics(state, choice)
        rng = _restore(state, checkpoint) if checkpoint is not None else None
        try:
            stopped = train_epochs(state, folder, rng)
        except KeyboardInterrupt:  # Ctrl+C: the run is saved like a stop, then told
            finish(state, folder, stopped=True)
            raise
        finish(state, folder, stopped)
    return RunResult(str(folder.path), state.classes, tuple(state.history), stopped)


@contextmanager
def _claim_for(state: FitState, resume: bool, overwrite: bool,
               fresh_folder: bool) -> Iterator[RunFolder]:
    """The folder this process writes: the run folder (claimed) for rank 0 and a plain run;
    under torchrun the other processes write a scratch folder, removed at the end, so only
    rank 0 writes the run."""
    if state.job.main:
        with _claim(state, resume, overwrite, fresh_folder) as claim:
            yield claim.folder
        return
    with tempfile.TemporaryDirectory(prefix=f"tlstudio-rank{state.job.rank}-") as scratch:
        with claim_run_folder(scratch) as claim:
            yield claim.folder


def _claim(state: FitState, resume: bool, overwrite: bool, fresh_folder: bool) -> RunClaim:
    """Hold the recipe's out_dir (or, with `fresh_folder`, the first free sibling) for the fit."""
    asked = state.recipe.out_dir
    if not fresh_folder or resume or overwrite:
        return claim_run_folder(asked, overwrite, resume)
    claim = claim_free_run_folder(asked)
    if claim.path != Path(asked):
        state.recipe = state.recipe.replace(out_dir=str(claim.path))
        state.notes.append(LogMessage(f"'{asked}' already holds a run; writing this one to "
                                      f"'{claim.path}'"))
    return claim


def _announce(state: FitState, checkpoint: dict[str, Any] | None) -> None:
    """FitStarted, then what the user should know before the first batch."""
    recipe, skipped = state.recipe, stages.skipped_files(state)
    trainable, total = parameter_counts(state.model)
    state.emit(FitStarted(recipe.out_dir, state.classes, recipe.epochs,
                          len(state.train_loader), len(state.train_loader.dataset),
                          len(state.val_loader.dataset), len(skipped), str(state.device),
                          state.image_size, trainable, total, state.use_cache,
                          state.precision.describe(), _finished_epochs(checkpoint, recipe.epochs)))
    for note in state.notes:
        state.emit(note)
    precision = state.precision
    if precision.autocast and precision.reason != "chosen":
        state.emit(LogMessage(f"Precision (auto): {precision.describe()}, as {precision.reason}"))
    if skipped:
        state.emit(LogMessage(f"{len(skipped)} file(s) skipped: see skipped_files in "
                              f"{RunFolder.at(recipe.out_dir).metrics.name}", "warning"))
    state.emit(data_controls.imbalance_note(state.train_scan.counts(), recipe.balance))
    if stages.wants_feature_cache(state) and not state.use_cache:
        state.emit(LogMessage(data_controls.cache_off_note(recipe)))


def _first_metrics(state: FitState, choice: dict[str, Any] | None) -> dict[str, Any]:
    adapting = {} if state.adaptation is None else {"adaptation": choice or {
        "method": state.recipe.adapt, "chosen_by": "recipe"}}
    return {
        **adapting,
        "classes": list(state.classes),
        "skipped_files": [s.to_dict() for s in stages.skipped_files(state)],
        "backbone": state.recipe.backbone,
        "device": str(state.device),
        "feature_cache": state.use_cache,
        "world_size": state.job.world_size,  # processes that trained it (torchrun)
        "epochs": [],
        "stopped": False,
        # all_data: every image trained, none held out, so every val_* field is null
        "all_data": state.recipe.all_data,
        "train_images": len(state.train_scan),
        "val_images": len(state.val_scan),
    }


def _restore(state: FitState, checkpoint: dict[str, Any]):
    """Model, optimizer, schedule, callbacks and history as they were after the checkpoint's
    epoch; returns what restores the random state once the features are extracted."""
    recipe, optimizer, scheduler = state.recipe, state.optimizer, state.scheduler
    restore_model(state, checkpoint)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    if checkpoint["total_epochs"] != recipe.epochs:
        # A new total stretches the schedule: carry on along it from the same step.
        for group, base, factor in zip(optimizer.param_groups, scheduler.base_lrs,
                                       scheduler.lr_lambdas, strict=True):
            group["lr"] = base * factor(scheduler.last_epoch)
        scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
    state.loop.best_epoch = checkpoint["best_epoch"]
    for callback, saved in zip(state.own_callbacks, checkpoint["callbacks"], strict=True):
        callback.load_state_dict(saved)
    if state.scaler is not None and checkpoint.get("scaler"):
        state.scaler.load_state_dict(checkpoint["scaler"])
    state.metrics["epochs"] = list(checkpoint["epochs"])
    state.history = list(_finished_epochs(checkpoint, recipe.epochs))
    state.emit(LogMessage(f"Resuming after epoch {checkpoint['epoch']} of {recipe.epochs}"))
    return lambda generator: restore_rng(checkpoint["rng"], generator)


def resume_run(
    run_dir: str | Path,
    epochs: int | None = None,
    callbacks: Sequence[Callback] = (),
    control: RunControl | None = None,
) -> RunResult:
    """Continue a run from its last finished epoch; ``epochs`` sets a new total (to extend a
    finished run). With the feature cache on, the features are computed again first.
    """
    return fit(resume_recipe(run_dir, epochs), callbacks, control, resume=True)


def resume_recipe(run_dir: str | Path, epochs: int | None = None) -> Recipe:
    """The recipe that resumes the run in ``run_dir`` (the CLI's and the window's way in):
    its own recipe, writing into the same folder, with ``epochs`` as the new total.

    Raises TlstudioError for a folder that is not a run or has no checkpoint, and RecipeError
    when the run has already trained that many epochs.
    """
    recipe, done = resumable_run(run_dir)
    if epochs is not None:
        recipe = recipe.replace(epochs=epochs)
    _check_more_epochs(recipe, done)
    return recipe


def resumable_run(run_dir: str | Path) -> tuple[Recipe, int]:
    """The run's own recipe (writing into ``run_dir``) and the epochs its checkpoint holds."""
    folder = RunFolder.at(run_dir)
    if not folder.recipe.is_file():
        raise TlstudioError(f"'{run_dir}' is not a tlstudio run: it has no {folder.recipe.name}")
    done = finished_epochs(run_dir)
    return Recipe.load(folder.recipe).replace(out_dir=str(run_dir)), done


def _check_more_epochs(recipe: Recipe, done: int) -> None:
    if done >= recipe.epochs:
        raise RecipeError(f"The run in '{recipe.out_dir}' has already trained {done} epoch(s)",
                          remedies=(Remedy.MORE_EPOCHS,))


def _resumable_checkpoint(folder: RunFolder, recipe: Recipe) -> dict[str, Any]:
    checkpoint = load_checkpoint(folder.checkpoint)
    _check_more_epochs(recipe, checkpoint["epoch"])
    return checkpoint


def _finished_epochs(checkpoint: dict[str, Any] | None, epochs: int) -> tuple[EpochEnded, ...]:
    if checkpoint is None:
        return ()
    return tuple(_epoch_from_dict(e, epochs) for e in checkpoint["epochs"])


def _epoch_from_dict(d: dict[str, Any], epochs: int) -> EpochEnded:
    d = dict(d)
    d["per_class_accuracy"] = tuple(d.get("per_class_accuracy", ()))
    return EpochEnded(epochs=epochs, **d)
