"""The last two stages of a fit: train the epochs (each: train, validate, store the predictions,
let the callbacks act, checkpoint), then finish (the saved model, the final metrics).

A run's files are written through `runs`: the checkpoint before metrics.json, so every epoch
listed in the metrics can be resumed from.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from tlstudio.errors import TrainingStopped
from tlstudio.runs import ModelInfo, RunFolder, load_weights, save_checkpoint, save_model
from tlstudio.runs.checkpoint import rng_state
from tlstudio.runs.predictions import save_epoch_predictions
from tlstudio.training import distributed, stages
from tlstudio.training.checkpoint_model import model_state
from tlstudio.training.classical_heads import fit_head
from tlstudio.training.events import EpochEnded, FitEnded, LogMessage
from tlstudio.training.head_threads import head_threads
from tlstudio.training.loops import EpochStats, evaluate, per_class_accuracy, train_one_epoch
from tlstudio.training.stages import FitState


def train_epochs(state: FitState, folder: RunFolder, restore_rng=None) -> bool:
    """Extract the batches (the feature cache), then train the epochs not yet in
    `state.history`. Returns whether the run stopped short (a stop request or a NaN; early
    stopping is a finished run). `restore_rng` puts back a checkpoint's random state once the
    features are extracted."""
    try:
        stages.extract_batches(state)
        with head_threads(state):
            if state.recipe.head != "linear":
                return fit_classical_head(state, folder)
            return _train(state, folder, restore_rng)
    except TrainingStopped:
        return True


def _train(state: FitState, folder: RunFolder, restore_rng) -> bool:
    loop = state.loop
    if state.adaptation is not None:
        state.adaptation.prepare()
    if restore_rng is not None:
        restore_rng(state.generator)
    for epoch in range(len(state.history) + 1, state.recipe.epochs + 1):
        state.phases.start_epoch(epoch)
        ended = run_epoch(state, epoch, folder)
        if ended is None:
            return True
        state.history.append(ended)
        state.metrics["epochs"].append(ended.to_dict())
        state.emit(ended)  # the callbacks act (best weights, plateaus) before the checkpoint
        save_checkpoint(folder.checkpoint, training_state(state, epoch))
        if epoch < state.recipe.epochs:  # the last epoch's: `finish` writes them, once
            folder.write_metrics(state.metrics)  # after the checkpoint (see the docstring)
        if loop.stop_reason is not None:
            return loop.failed  # early stopping is a finished run, a NaN is not
    return False


def run_epoch(state: FitState, epoch: int, folder: RunFolder) -> EpochEnded | None:
    """Train one epoch and validate; None when a stop request ended it early."""
    recipe, model = state.recipe, state.step_model
    begun = time.perf_counter()
    adaptation = state.adaptation
    stats = train_one_epoch(state.ddp_model or model, state.train_batches, state.optimizer,
                            state.loss_fn, state.device, epoch, state.emit, state.loop,
                            state.scheduler, state.precision, state.scaler, state.micro_batch,
                            adaptation.extra_loss() if adaptation is not None else None)
    if not stats.completed:
        return None
    stats = _over_all_processes(state, stats)
    target = adaptation.target_accuracy() if adaptation is not None else None
    lr, extra = state.optimizer.param_groups[0]["lr"], state.extra_seconds if epoch == 1 else 0.0
    if recipe.all_data:  # nothing held out: nothing to validate on
        return EpochEnded(epoch, recipe.epochs, stats.loss, stats.accuracy, None, None, lr,
                          time.perf_counter() - begun + extra, (), target)
    val = evaluate(model, state.val_batches, stages.val_loss(), state.device, state.precision,
                   state.micro_batch)
    ended = EpochEnded(epoch, recipe.epochs, stats.loss, stats.accuracy, val.loss,
                       val.accuracy, lr, time.perf_counter() - begun + extra,
                       per_class_accuracy(val, len(state.classes)), target)
    # Before the event: a view that reacts to it can read this epoch's predictions.
    save_epoch_predictions(folder.path, epoch, val.probabilities, val.targets,
                           stages.val_files(state), state.classes)
    return ended


def _over_all_processes(state: FitState, stats: EpochStats) -> EpochStats:
    """Under torchrun, the epoch's training loss and accuracy over every process's images."""
    if not state.job.active:
        return stats
    loss, correct, images = distributed.reduce_sums(
        state.job, stats.loss * stats.images, stats.accuracy * stats.images, stats.images)
    return dataclasses.replace(stats, loss=loss / max(images, 1),
                               accuracy=correct / max(images, 1), images=int(images))


def fit_classical_head(state: FitState, folder: RunFolder) -> bool:
    """The recipe's scikit-learn head, fitted on the cached features in one go and recorded as
    the run's one epoch (the callbacks keep it as the run's model)."""
    recipe = state.recipe
    begun = time.perf_counter()
    train = state.train_features
    state.emit(LogMessage(f"Fitting the {recipe.head} head on {len(train.labels)} images' "
                          "features"))
    head = fit_head(recipe.head, train.features, train.labels, len(state.classes), recipe.seed)
    state.model.head = head.to(state.device)
    fitted = [evaluate(head, batches, stages.val_loss(), state.device, state.precision,
                       state.micro_batch) for batches in (train, state.val_features)]
    seconds = time.perf_counter() - begun + state.extra_seconds
    val = None if recipe.all_data else fitted[1]
    ended = EpochEnded(1, 1, fitted[0].loss, fitted[0].accuracy, val and val.loss,
                       val and val.accuracy, 0.0, seconds,
                       per_class_accuracy(val, len(state.classes)) if val else ())
    if val is not None:
        save_epoch_predictions(folder.path, 1, val.probabilities, val.targets,
                               stages.val_files(state), state.classes)
    state.history.append(ended)
    state.metrics["epochs"].append(ended.to_dict())
    state.emit(ended)
    return False  # `finish` writes the metrics


def _best_file_is_model(state: FitState, folder: RunFolder, stopped: bool):
    """The best epoch's weights file when it holds the model as saved (a finished run whose
    best epoch is its last, nothing adapted since): no need to write the same bytes twice."""
    loop = state.loop
    same = (not stopped and state.adaptation is None and loop.best_epoch is not None
            and loop.best_epoch == state.history[-1].epoch and folder.best_weights.is_file())
    return folder.best_weights if same else None


def training_state(state: FitState, epoch: int) -> dict[str, Any]:
    """What the checkpoint holds after `epoch`."""
    return {
        "epoch": epoch,
        "total_epochs": state.recipe.epochs,
        **model_state(state),  # the whole model, or the head over an untouched backbone
        "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict(),
        "best_epoch": state.loop.best_epoch,
        "callbacks": [callback.state_dict() for callback in state.own_callbacks],
        "epochs": state.metrics["epochs"],
        "rng": rng_state(state.generator),
        "phase": state.phases.current.number,
        "scaler": state.scaler.state_dict() if state.scaler is not None else {},
    }


def finish(state: FitState, folder: RunFolder, stopped: bool) -> None:
    """The run's model (the best epoch's weights when the recipe keeps them) and final
    metrics; then FitEnded."""
    loop, history, metrics = state.loop, state.history, state.metrics
    metrics["stopped"] = stopped
    metrics["stop_reason"] = loop.stop_reason
    if history and state.recipe.all_data:
        metrics["best_epoch"] = history[-1].epoch  # nothing to choose by: the last epoch
    elif history and loop.best_epoch is not None:
        metrics["best_epoch"] = loop.best_epoch
        # A stop mid-epoch (or a NaN) leaves weights past the last epoch's; a finished run
        # whose best epoch is its last already holds them (a comparison's many short fits).
        if stopped or loop.best_epoch != history[-1].epoch:
            state.model.load_state_dict(load_weights(folder.best_weights))
        if loop.best_epoch != history[-1].epoch:
            state.emit(LogMessage(f"The run's model is epoch {loop.best_epoch}'s, the best by "
                                  f"{state.recipe.monitor}, not the last epoch's"))
    folder.write_metrics(metrics)
    if history:
        spec = state.built.spec
        info = ModelInfo(state.recipe.backbone, state.classes, state.image_size, spec.mean,
                         spec.std, state.recipe.to_dict(),
                         unknown_below=state.recipe.unknown_below)
        # Domain adaptation saves the model as adapted (target statistics, aligned head).
        model = state.adaptation.deployed() if state.adaptation is not None else state.model
        save_model(folder.path, model.cpu(), info, _best_file_is_model(state, folder, stopped))
    last = history[-1].val_accuracy if history else None
    state.emit(FitEnded(str(folder.path), stopped, len(history), last))
