"""The fit loop: recipe in, run folder out (metrics, model.safetensors, model.json, recipe.json).

It reports through events and checks a RunControl between batches; it never prints. After every
epoch it writes checkpoint.pt, from which ``resume_run`` continues an interrupted or finished run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tlstudio import atomic
from tlstudio.data import (
    DatasetScan,
    ImageFolderDataset,
    eval_transform,
    scan_folder,
    stratified_split,
    train_transform,
)
from tlstudio.data.loader import ImageLoader
from tlstudio.errors import RecipeError, TlstudioError, TrainingStopped
from tlstudio.models import (
    BuiltModel,
    apply_freeze,
    build_classifier,
    parameter_counts,
    trainable_stage_names,
)
from tlstudio.models.freezing import only_head_trains
from tlstudio.recipe import Recipe
from tlstudio.training import artifacts, data_controls
from tlstudio.training.callbacks import (
    BEST_WEIGHTS,
    LoopCallback,
    TrainingLoop,
    recipe_callbacks,
)
from tlstudio.training.checkpoint import (
    CHECKPOINT,
    finished_epochs,
    load_checkpoint,
    restore_rng,
    rng_state,
    save_checkpoint,
)
from tlstudio.training.events import (
    Callback,
    EpochEnded,
    Event,
    FitEnded,
    FitStarted,
    LogMessage,
    PhaseProgress,
    RunControl,
)
from tlstudio.training.feature_cache import FeatureBatches, extract_features
from tlstudio.training.loops import evaluate, per_class_accuracy, train_one_epoch
from tlstudio.training.micro_batch import MicroBatch
from tlstudio.training.optim import build_loss, build_optimizer, build_scheduler
from tlstudio.training.phases import PhaseSwitch, stage_param_groups
from tlstudio.training.precision import FP32, resolve_precision
from tlstudio.training.predictions import save_epoch_predictions
from tlstudio.training.run_folder import claim_run_folder

METRICS = "metrics.json"
RECIPE = "recipe.json"


@dataclass(frozen=True)
class RunResult:
    run_dir: str
    classes: tuple[str, ...]
    epochs: tuple[EpochEnded, ...]
    stopped: bool


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RecipeError("CUDA was chosen but no CUDA GPU is available; choose auto or cpu")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RecipeError("MPS was chosen but this machine has no Apple GPU; choose auto or cpu")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def load_datasets(
    recipe: Recipe, emit: Callable[[Event], None], control: RunControl
) -> tuple[DatasetScan, DatasetScan]:
    """Scan the training folder and the validation folder (or split off a stratified part)."""

    def progress(done: int, total: int) -> None:
        emit(PhaseProgress("scanning images", done, total))

    cancelled = lambda: control.stopped  # noqa: E731
    train = scan_folder(recipe.data_dir, progress=progress, cancel=cancelled)
    if recipe.val_dir:
        val = scan_folder(recipe.val_dir, classes=train.classes, progress=progress,
                          cancel=cancelled)
        return train, val
    return stratified_split(train, recipe.val_split, recipe.seed)


def prepare_model(recipe: Recipe, num_classes: int, emit: Callable[[Event], None],
                  control: RunControl) -> BuiltModel:
    def progress(done: int, total: int) -> None:
        emit(PhaseProgress("downloading weights", done, total))

    built = build_classifier(recipe.backbone, num_classes, recipe.weights,
                             progress=progress, cancelled=lambda: control.stopped)
    stages = recipe.train_stages or trainable_stage_names(built.stages, recipe.freeze)
    apply_freeze(built.model, built.stages, stages, recipe.unfreeze)
    return built


def fit(
    recipe: Recipe,
    callbacks: Sequence[Callback] = (),
    control: RunControl | None = None,
    resume: bool = False,
    overwrite: bool = False,
) -> RunResult:
    """Train a head (and any unfrozen stages) on the recipe's folders; write the run folder.

    ``callbacks`` are plain one-event callables; LoopCallbacks among them may also act on the
    run (stop it, change the lr). The recipe's own callbacks (best epoch, early stopping,
    reduce-on-plateau, NaN stop) run after them. With ``resume`` the run continues from the
    out_dir's checkpoint.pt (see ``resume_run``); without it, an out_dir that already holds a run
    is refused (RecipeError) unless ``overwrite``, which first removes the old run's files.
    """
    if resume and overwrite:
        raise ValueError("a run is either resumed or overwritten, not both")
    control = control or RunControl()
    own_callbacks = recipe_callbacks(recipe)
    callbacks = [*callbacks, *own_callbacks]

    def emit(event: Event) -> None:
        for callback in callbacks:
            callback(event)

    seed_everything(recipe.seed)
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    run_dir = Path(recipe.out_dir)
    device = resolve_device(recipe.device)
    checkpoint = _resumable_checkpoint(run_dir, recipe) if resume else None
    if checkpoint is None:
        claim_run_folder(recipe.out_dir, overwrite)
    atomic.remove_leftovers(run_dir)  # half-written files of a killed run: never read
    train_scan, val_scan = load_datasets(recipe, emit, control)
    skipped = train_scan.skipped + (val_scan.skipped if recipe.val_dir else ())
    built = prepare_model(recipe, len(train_scan.classes), emit, control)
    model = built.model.to(device)
    precision = resolve_precision(recipe, device)
    precision.prepare_model(model)
    image_size = recipe.image_size or built.spec.input_size
    run_dir.mkdir(parents=True, exist_ok=True)
    recipe.save(run_dir / RECIPE)

    generator = torch.Generator().manual_seed(recipe.seed)
    train_ds = ImageFolderDataset(train_scan, train_transform(image_size, recipe.augment,
                                                              recipe.augment_options))
    val_ds = ImageFolderDataset(val_scan, eval_transform(image_size))
    would_cache = recipe.feature_cache and only_head_trains(model)
    cache_off_note = data_controls.cache_off_note(recipe)  # augmentation or mixing is on
    use_cache = would_cache and cache_off_note is None
    sampler = data_controls.train_sampler(recipe, [label for _, label in train_scan.samples],
                                          len(train_scan.classes), generator)
    loader_args = dict(batch_size=recipe.batch_size, num_workers=recipe.num_workers,
                       pin_memory=device.type == "cuda")
    train_loader = ImageLoader(train_ds, shuffle=not use_cache and sampler is None,
                              sampler=sampler, generator=generator, **loader_args)
    val_loader = ImageLoader(val_ds, shuffle=False, **loader_args)

    val_files = tuple(str(Path(path).resolve()) for path, _ in val_scan.samples)
    trainable, total = parameter_counts(model)
    emit(FitStarted(str(run_dir), train_scan.classes, recipe.epochs, len(train_loader),
                    len(train_ds), len(val_ds), len(skipped), str(device), image_size,
                    trainable, total, use_cache, precision.describe(),
                    _finished_epochs(checkpoint, recipe.epochs)))
    if precision.autocast and precision.reason != "chosen":
        emit(LogMessage(f"Precision (auto): {precision.describe()}, as {precision.reason}"))
    if skipped:
        emit(LogMessage(f"{len(skipped)} file(s) skipped: see skipped_files in {METRICS}",
                        "warning"))
    emit(data_controls.imbalance_note(train_scan.counts(), recipe.balance))
    if would_cache and not use_cache:
        emit(LogMessage(cache_off_note))

    optimizer = build_optimizer(stage_param_groups(model, built.stages, recipe), recipe)
    phases = PhaseSwitch(model, built.stages, recipe, emit)  # head-only epochs, then the freeze
    scaler = precision.make_scaler()
    scheduler = build_scheduler(optimizer, recipe, len(train_loader))
    loss_fn = build_loss(recipe, list(train_scan.counts().values())).to(device)
    val_loss_fn = nn.CrossEntropyLoss()
    loop = TrainingLoop(recipe, run_dir, model, optimizer, scheduler, control, emit)
    for callback in callbacks:
        if isinstance(callback, LoopCallback):
            callback.bind(loop)
    metrics = {
        "classes": list(train_scan.classes),
        "skipped_files": [s.to_dict() for s in skipped],
        "backbone": recipe.backbone,
        "device": str(device),
        "feature_cache": use_cache,
        "epochs": [],
        "stopped": False,
    }
    history: list[EpochEnded] = []
    if checkpoint is not None:
        _restore_training(checkpoint, recipe, model, optimizer, scheduler, loop, own_callbacks)
        if scaler is not None and checkpoint.get("scaler"):
            scaler.load_state_dict(checkpoint["scaler"])
        metrics["epochs"] = list(checkpoint["epochs"])
        history = list(_finished_epochs(checkpoint, recipe.epochs))
        emit(LogMessage(f"Resuming after epoch {checkpoint['epoch']} of {recipe.epochs}"))
    stopped = False
    micro_batch = MicroBatch(device, emit)  # out of memory: smaller chunks for the whole run
    try:
        train_batches, val_batches, step_model, extra_seconds = _batches(
            model, use_cache, train_loader, val_loader, recipe, generator, device, emit, control,
            precision, micro_batch)
        train_batches = data_controls.mixed_batches(train_batches, recipe,
                                                    len(train_scan.classes))
        if checkpoint is not None:
            restore_rng(checkpoint["rng"], generator)  # after the feature cache is rebuilt
        for epoch in range(len(history) + 1, recipe.epochs + 1):
            phases.start_epoch(epoch)
            start = time.perf_counter()
            stats = train_one_epoch(step_model, train_batches, optimizer, loss_fn, device,
                                    epoch, emit, loop, scheduler, precision, scaler, micro_batch)
            if not stats.completed:
                stopped = True
                break
            val = evaluate(step_model, val_batches, val_loss_fn, device, precision, micro_batch)
            seconds = time.perf_counter() - start + (extra_seconds if epoch == 1 else 0.0)
            ended = EpochEnded(epoch, recipe.epochs, stats.loss, stats.accuracy, val.loss,
                               val.accuracy, optimizer.param_groups[0]["lr"], seconds,
                               per_class_accuracy(val, len(train_scan.classes)))
            # Before the event: a view that reacts to it can read this epoch's predictions.
            save_epoch_predictions(run_dir, epoch, val.probabilities, val.targets,
                                   val_files, train_scan.classes)
            history.append(ended)
            metrics["epochs"].append(ended.to_dict())
            emit(ended)  # the callbacks act (best weights, plateaus) before the checkpoint
            save_checkpoint(run_dir / CHECKPOINT, {**_training_state(
                recipe, epoch, model, optimizer, scheduler, loop, own_callbacks, metrics,
                generator), "phase": phases.current.number,
                "scaler": scaler.state_dict() if scaler is not None else {}})
            # Written after the checkpoint: an epoch listed in metrics.json can be resumed from.
            atomic.write_json(run_dir / METRICS, metrics)
            if loop.stop_reason is not None:
                stopped = loop.failed  # early stopping is a finished run, a NaN is not
                break
    except TrainingStopped:
        stopped = True
    metrics["stopped"] = stopped
    metrics["stop_reason"] = loop.stop_reason
    if history and loop.best_epoch is not None:
        metrics["best_epoch"] = loop.best_epoch
        # Always reload: a stop mid-epoch (or a NaN) leaves weights past the last epoch's.
        model.load_state_dict(artifacts.load_weights(run_dir / BEST_WEIGHTS))
        if loop.best_epoch != history[-1].epoch:
            emit(LogMessage(f"The run's model is epoch {loop.best_epoch}'s, the best by "
                            f"{recipe.monitor}, not the last epoch's"))
    atomic.write_json(run_dir / METRICS, metrics)
    if history:
        info = artifacts.ModelInfo(recipe.backbone, train_scan.classes, image_size,
                                   built.spec.mean, built.spec.std, recipe.to_dict())
        artifacts.save_model(run_dir, model.cpu(), info)
    last = history[-1].val_accuracy if history else None
    emit(FitEnded(str(run_dir), stopped, len(history), last))
    return RunResult(str(run_dir), train_scan.classes, tuple(history), stopped)


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
    run_dir = Path(run_dir)
    if not (run_dir / RECIPE).is_file():
        raise TlstudioError(f"'{run_dir}' is not a tlstudio run: it has no {RECIPE}")
    done = finished_epochs(run_dir)
    return Recipe.load(run_dir / RECIPE).replace(out_dir=str(run_dir)), done


def _check_more_epochs(recipe: Recipe, done: int) -> None:
    if done >= recipe.epochs:
        raise RecipeError(f"The run in '{recipe.out_dir}' has already trained {done} epoch(s); "
                          f"to train more, give a larger total number of epochs (e.g. {done + 5})")


def _resumable_checkpoint(run_dir: Path, recipe: Recipe) -> dict[str, Any]:
    checkpoint = load_checkpoint(run_dir / CHECKPOINT)
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


def _training_state(recipe, epoch, model, optimizer, scheduler, loop, own_callbacks, metrics,
                    generator) -> dict[str, Any]:
    return {
        "epoch": epoch,
        "total_epochs": recipe.epochs,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "best_epoch": loop.best_epoch,
        "callbacks": [callback.state_dict() for callback in own_callbacks],
        "epochs": metrics["epochs"],
        "rng": rng_state(generator),
    }


def _restore_training(checkpoint, recipe, model, optimizer, scheduler, loop,
                      own_callbacks) -> None:
    """Model, optimizer, schedule and callbacks as they were after the checkpoint's epoch."""
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    if checkpoint["total_epochs"] != recipe.epochs:
        # A new total stretches the schedule: carry on along it from the same step.
        for group, base, factor in zip(optimizer.param_groups, scheduler.base_lrs,
                                       scheduler.lr_lambdas, strict=True):
            group["lr"] = base * factor(scheduler.last_epoch)
        scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
    loop.best_epoch = checkpoint["best_epoch"]
    for callback, state in zip(own_callbacks, checkpoint["callbacks"], strict=True):
        callback.load_state_dict(state)


def _batches(model, use_cache, train_loader, val_loader, recipe, generator, device, emit,
             control, precision=FP32, micro_batch=None):
    """Image loaders for fine-tuning, or cached-feature batches through the head alone."""
    if not use_cache:
        return train_loader, val_loader, model, 0.0
    start = time.perf_counter()
    emit(LogMessage("Only the head trains: computing backbone features once (feature cache)"))
    plain_train = ImageLoader(train_loader.dataset, batch_size=recipe.batch_size,
                             num_workers=recipe.num_workers)

    def progress(done: int, total: int) -> None:
        emit(PhaseProgress(f"extracting {progress.part} features", done, total))

    progress.part = "training"
    train_f, train_y = extract_features(model, plain_train, device, progress, control, precision,
                                        micro_batch)
    progress.part = "validation"
    val_f, val_y = extract_features(model, val_loader, device, progress, control, precision,
                                    micro_batch)
    classes = len(train_loader.dataset.classes)
    weights = data_controls.feature_sample_weights(recipe, train_y, classes)  # balance sampler
    train_batches = FeatureBatches(train_f, train_y, recipe.batch_size, generator, weights)
    val_batches = FeatureBatches(val_f, val_y, recipe.batch_size)
    return train_batches, val_batches, model.head, time.perf_counter() - start
