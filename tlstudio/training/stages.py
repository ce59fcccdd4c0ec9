"""The stages of a fit, each a short function over one `FitState`: start, prepare the data, build
the model, make the loaders, set up training, extract features, train the epochs, finish.

`fit` runs them in order; `lr_find` runs the first few and its own ramp; a procedure that trains
on scans of its own (cross-validation, comparisons) hands them to `prepare_data`. The order of
the stages is also the order in which they draw random numbers, so a resumed run repeats it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler

from tlstudio.data import (
    DatasetScan,
    ImageCache,
    ImageFolderDataset,
    ImageLoader,
    eval_transform,
    loader_workers,
    resolve_data_folders,
    scan_folder,
    stratified_split,
    train_transform,
)
from tlstudio.devices import resolve_device
from tlstudio.models import (
    BuiltBackbone,
    BuiltModel,
    apply_freeze,
    build_backbone,
    classifier_on,
    only_head_trains,
)
from tlstudio.recipe import HEAD_ONLY, Recipe
from tlstudio.runs import RunFolder
from tlstudio.training import all_data, data_controls, distributed
from tlstudio.training.callbacks import LoopCallback, TrainingLoop, recipe_callbacks
from tlstudio.training.events import (
    Callback,
    EpochEnded,
    Event,
    LogMessage,
    PhaseProgress,
    RunControl,
)
from tlstudio.training.feature_cache import (
    FeatureBatches,
    Features,
    FeatureStore,
    extract_features,
)
from tlstudio.training.micro_batch import MicroBatch
from tlstudio.training.optim import build_loss, build_optimizer, build_scheduler
from tlstudio.training.phases import PhaseSwitch, stage_param_groups
from tlstudio.training.precision import PrecisionPlan, resolve_precision


@dataclass
class FitState:
    """Everything the stages share; each stage fills in its part."""

    recipe: Recipe  # resolved: prepare_data replaces a train/+val/ root by its two folders
    control: RunControl
    callbacks: list[Callback]  # the caller's, then the recipe's own
    own_callbacks: list[Callback]  # the recipe's (their state goes into the checkpoint)
    device: torch.device
    generator: torch.Generator  # the data order
    job: distributed.Distributed = field(default_factory=distributed.Distributed)  # torchrun
    micro_batch: MicroBatch | None = None  # out of memory: smaller chunks for the whole run
    notes: list[LogMessage] = field(default_factory=list)  # said once the fit has started
    train_scan: DatasetScan | None = None
    val_scan: DatasetScan | None = None
    built: BuiltModel | None = None
    precision: PrecisionPlan | None = None
    image_size: int = 0
    train_loader: DataLoader | None = None
    val_loader: DataLoader | None = None
    use_cache: bool = False  # only the head trains, on backbone features computed once
    train_batches: Iterable[Any] | None = None  # what an epoch iterates: images or features
    val_batches: Iterable[Any] | None = None
    train_features: FeatureBatches | None = None  # the cached features, unmixed, unweighted
    val_features: FeatureBatches | None = None
    feature_store: FeatureStore | None = None  # features shared with other fits (a comparison)
    step_model: nn.Module | None = None  # the model, or its head alone over cached features
    ddp_model: nn.Module | None = None  # step_model in DistributedDataParallel, under torchrun
    extra_seconds: float = 0.0  # feature extraction, counted into the first epoch's time
    optimizer: torch.optim.Optimizer | None = None
    scheduler: Any = None
    phases: PhaseSwitch | None = None
    scaler: Any = None
    loss_fn: nn.Module | None = None
    loop: TrainingLoop | None = None
    target_scan: DatasetScan | None = None  # domain adaptation's unlabelled target images
    target_val_scan: DatasetScan | None = None  # its labelled target images, if any
    adaptation: Any = None  # training.adaptation.Adaptation, when the recipe adapts
    history: list[EpochEnded] = field(default_factory=list)  # finished epochs, resumed ones too
    metrics: dict[str, Any] = field(default_factory=dict)  # what metrics.json says

    @property
    def model(self) -> nn.Module:
        return self.built.model

    @property
    def classes(self) -> tuple[str, ...]:
        return self.train_scan.classes

    def emit(self, event: Event) -> None:
        for callback in self.callbacks:
            callback(event)


def start(recipe: Recipe, callbacks: Sequence[Callback] = (),
          control: RunControl | None = None, recipe_callbacks_too: bool = True) -> FitState:
    """Seed every generator, set the CPU threads and pick the device; the recipe's own
    callbacks (best epoch, early stopping, ...) join the caller's unless told not to."""
    own = recipe_callbacks(recipe) if recipe_callbacks_too else []
    seed_everything(recipe.seed)
    if recipe.threads:
        torch.set_num_threads(recipe.threads)
    job, device = distributed.join(resolve_device(recipe.device))
    distributed.check_recipe(job, recipe)
    state = FitState(recipe, control or RunControl(), [*callbacks, *own], own, device,
                     torch.Generator().manual_seed(recipe.seed), job)
    state.micro_batch = MicroBatch(device, state.emit)
    return state


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def prepare_data(state: FitState,
                 scans: tuple[DatasetScan, DatasetScan] | None = None) -> None:
    """The training and validation scans: `scans` as given, else the recipe's folders scanned
    (a root holding train/ and val/ is those two) or a stratified part held out."""
    if scans is None:
        scans = _scan(state)
    state.train_scan, state.val_scan = scans


def training_scans(recipe: Recipe, callbacks: Sequence[Callback] = (),
                   control: RunControl | None = None) -> tuple[DatasetScan, DatasetScan]:
    """The training and validation images a fit of `recipe` uses (the same split), for
    procedures that look at a run's data after the fact (the domain shift)."""
    state = start(recipe, callbacks, control, recipe_callbacks_too=False)
    prepare_data(state)
    return state.train_scan, state.val_scan


def _scan(state: FitState) -> tuple[DatasetScan, DatasetScan]:
    recipe = state.recipe
    folders = resolve_data_folders(recipe.data_dir, recipe.val_dir)
    if folders.note is not None:
        state.recipe = recipe = recipe.replace(data_dir=folders.train_dir,
                                               val_dir=folders.val_dir)
        state.notes.append(LogMessage(folders.note))

    def progress(done: int, total: int) -> None:
        state.emit(PhaseProgress("scanning images", done, total))

    cancelled = lambda: state.control.stopped  # noqa: E731
    train = scan_folder(recipe.data_dir, progress=progress, cancel=cancelled)
    val = (scan_folder(recipe.val_dir, classes=train.classes, progress=progress,
                       cancel=cancelled) if recipe.val_dir else None)
    if recipe.all_data:
        return all_data.every_image(train, val)
    return (train, val) if val is not None else stratified_split(train, recipe.val_split,
                                                                  recipe.seed)


def skipped_files(state: FitState) -> tuple[Any, ...]:
    """Files the scans passed over (a held-out part shares the training scan's list)."""
    val = state.val_scan.skipped if state.recipe.val_dir and not state.recipe.all_data else ()
    return state.train_scan.skipped + val


def build_model(state: FitState) -> None:
    """The classifier with the recipe's freeze, on the device, in the recipe's precision."""
    recipe = state.recipe
    built = classifier_on(_backbone(state), len(state.classes))
    apply_freeze(built.model, built.stages, recipe.train_stages, recipe.unfreeze)
    built.model.to(state.device)
    state.built = built
    state.precision = resolve_precision(recipe, state.device)
    state.precision.prepare_model(built.model)
    state.image_size = recipe.image_size or built.spec.input_size


def _backbone(state: FitState) -> BuiltBackbone:
    """The recipe's backbone; the feature store's when this fit leaves it as it is."""
    recipe = state.recipe

    def progress(done: int, total: int) -> None:
        state.emit(PhaseProgress("downloading weights", done, total))

    def build() -> BuiltBackbone:
        return build_backbone(recipe.backbone, recipe.weights, pretrained=recipe.pretrained,
                              progress=progress, cancelled=lambda: state.control.stopped)

    if state.feature_store is None or not backbone_untouched(recipe):
        return build()
    key = (recipe.backbone, recipe.weights, recipe.pretrained, str(state.device),
           recipe.precision, recipe.channels_last)
    return state.feature_store.backbone(key, build)


def backbone_untouched(recipe: Recipe) -> bool:
    """Whether a fit of `recipe` leaves its backbone exactly as built: only the head trains,
    on cached features (the backbone runs once, in eval mode, if at all), nothing adapts it."""
    return (tuple(recipe.train_stages) == HEAD_ONLY and not recipe.unfreeze
            and recipe.adapt == "none" and _recipe_wants_cache(recipe)
            and data_controls.cache_off_note(recipe) is None)


def make_loaders(state: FitState) -> None:
    """Augmented training images (balanced if asked), plain validation images."""
    recipe, scan = state.recipe, state.train_scan
    cache = ImageCache() if recipe.image_cache else None
    train_ds = ImageFolderDataset(scan, train_transform(state.image_size, recipe.augment,
                                                        recipe.augment_options), cache)
    val_ds = ImageFolderDataset(state.val_scan, eval_transform(state.image_size), cache)
    state.use_cache = wants_feature_cache(state) and data_controls.cache_off_note(recipe) is None
    sampler = data_controls.train_sampler(recipe, [label for _, label in scan.samples],
                                          len(scan.classes), state.generator)
    if state.job.active:
        state.train_loader = _rank_loader(state, train_ds, sampler)
    else:
        state.train_loader = ImageLoader(train_ds,
                                        shuffle=not state.use_cache and sampler is None,
                                        sampler=sampler, generator=state.generator,
                                        **_loader_args(state))
    state.val_loader = ImageLoader(val_ds, shuffle=False, **_loader_args(state))


def _rank_loader(state: FitState, dataset: Dataset, sampler: Any) -> DataLoader:
    """Under torchrun: the global batches one process would draw, this process's share of each
    (validation stays whole on every process, so all agree on the metrics and callbacks)."""
    if sampler is None:
        sampler = (SequentialSampler(dataset) if state.use_cache
                   else RandomSampler(dataset, generator=state.generator))
    batches = distributed.RankBatchSampler(sampler, state.recipe.batch_size, state.job)
    args = _loader_args(state)
    del args["batch_size"]
    args["num_workers"] = loader_workers(args["num_workers"], dataset)
    return DataLoader(dataset, batch_sampler=batches, generator=state.generator, **args)


def wants_feature_cache(state: FitState) -> bool:
    """The recipe asks for the feature cache (a scikit-learn head always does) and only the
    head trains."""
    return _recipe_wants_cache(state.recipe) and only_head_trains(state.model)


def _recipe_wants_cache(recipe: Recipe) -> bool:
    return recipe.feature_cache or recipe.head != "linear"


def _loader_args(state: FitState) -> dict[str, Any]:
    return dict(batch_size=state.recipe.batch_size, num_workers=state.recipe.num_workers,
                pin_memory=state.device.type == "cuda")


def make_optimizer(state: FitState) -> torch.optim.Optimizer:
    """The recipe's optimizer over the trainable stages, with their lr_decay ratios."""
    return build_optimizer(stage_param_groups(state.model, state.built.stages, state.recipe),
                           state.recipe)


def set_up_training(state: FitState, run_dir: Path) -> None:
    """Optimizer, phases, scaler, schedule, losses and the loop the callbacks act on."""
    recipe = state.recipe
    state.optimizer = make_optimizer(state)
    state.phases = PhaseSwitch(state.model, state.built.stages, recipe, state.emit)
    state.scaler = state.precision.make_scaler()
    state.scheduler = build_scheduler(state.optimizer, recipe, len(state.train_loader))
    counts = list(state.train_scan.counts().values())
    state.loss_fn = build_loss(recipe, counts).to(state.device)
    state.loop = TrainingLoop(recipe, run_dir, state.model, state.optimizer, state.scheduler,
                              state.control, state.emit)
    for callback in state.callbacks:
        if isinstance(callback, LoopCallback):
            callback.bind(state.loop)


def cached_features(state: FitState, dataset: Dataset, phase: str) -> Features:
    """The backbone's features of every image of `dataset`, in order, with their labels; from
    the fit's feature store when another fit computed them."""
    if state.feature_store is None:
        return _extract(state, dataset, phase)
    recipe = state.recipe
    key = (recipe.backbone, recipe.weights, recipe.pretrained, state.image_size,
           state.precision.describe(), str(state.device), tuple(dataset.samples))
    return state.feature_store.get(key, lambda: _extract(state, dataset, phase))


def _extract(state: FitState, dataset: Dataset, phase: str) -> Features:
    loader = ImageLoader(dataset, batch_size=state.recipe.batch_size,
                        num_workers=state.recipe.num_workers)

    def progress(done: int, total: int) -> None:
        state.emit(PhaseProgress(phase, done, total))

    return extract_features(state.model, loader, state.device, progress, state.control,
                            state.precision, state.micro_batch)


def extract_batches(state: FitState) -> None:
    """What the epochs iterate: image loaders for fine-tuning, or cached-feature batches
    through the head alone (features computed once, now); mixing on top."""
    state.train_batches, state.val_batches, state.step_model = (
        state.train_loader, state.val_loader, state.model)
    if state.use_cache:
        begun = time.perf_counter()
        state.emit(LogMessage("Only the head trains: computing backbone features once "
                              "(feature cache)"))
        train_f, train_y = cached_features(state, state.train_loader.dataset,
                                           "extracting training features")
        val_f, val_y = (train_f[:0], train_y[:0]) if state.recipe.all_data else (
            cached_features(state, state.val_loader.dataset, "extracting validation features"))
        weights = data_controls.feature_sample_weights(state.recipe, train_y, len(state.classes))
        state.train_batches = FeatureBatches(train_f, train_y, state.recipe.batch_size,
                                             state.generator, weights)
        state.val_batches = FeatureBatches(val_f, val_y, state.recipe.batch_size)
        state.train_features = FeatureBatches(train_f, train_y, state.recipe.batch_size)
        state.val_features = state.val_batches
        state.step_model = state.model.head
        state.extra_seconds = time.perf_counter() - begun
        if state.job.active:
            state.train_batches = distributed.RankBatches(state.train_batches, state.job)
    if state.job.active:
        state.ddp_model = distributed.wrap(state.step_model, state.device)
    state.train_batches = data_controls.mixed_batches(state.train_batches, state.recipe,
                                                      len(state.classes))


def val_files(state: FitState) -> tuple[str, ...]:
    return tuple(str(Path(path).resolve()) for path, _ in state.val_scan.samples)


def run_folder(state: FitState) -> RunFolder:
    return RunFolder.at(state.recipe.out_dir)


def val_loss() -> Callable[..., torch.Tensor]:
    return nn.CrossEntropyLoss()
