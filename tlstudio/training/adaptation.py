"""Domain adaptation inside a fit: the target folders, the method the recipe names, and the
model as it will be saved (whatever the method changed is inside it, so exports carry it).

`fit` calls `prepare_target` after preparing the data and `attach` once the loaders exist; the
epoch loop calls the adaptation's `prepare` (after the batches), its `extra_loss` (each batch),
`target_accuracy` (each epoch) and `deployed` (the model it saves). The methods themselves are
in `adapt_methods.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.utils.data import DataLoader

from tlstudio.data import (
    ImageFolderDataset,
    ImageLoader,
    eval_transform,
    scan_folder,
    scan_images,
)
from tlstudio.errors import RecipeError
from tlstudio.training.events import LogMessage, PhaseProgress
from tlstudio.training.feature_cache import FeatureBatches
from tlstudio.training.loops import ExtraLoss, evaluate

if TYPE_CHECKING:
    from tlstudio.training.stages import FitState


class Adaptation:
    """No adaptation: the model as trained; with labelled target images, their accuracy."""

    name = "none"
    changes_backbone = False  # the saved model's backbone differs from the trained one
    needs_cache = False  # works on cached features: only the head trains
    needs_trainable_backbone = False  # changes the backbone's features while training

    def __init__(self, state: FitState) -> None:
        self.state = state
        self._target_val_features: tuple[torch.Tensor, torch.Tensor] | None = None

    def prepare(self) -> None:
        """After the epochs' batches exist (the feature cache computed): the method's setup."""

    def extra_loss(self) -> ExtraLoss | None:
        """The loss term the method adds to each training batch, if any."""
        return None

    def deployed(self) -> nn.Module:
        """The model as the run saves it: the trained one with the method's changes."""
        return self.state.model

    def target_accuracy(self) -> float | None:
        """Accuracy of `deployed()` on the labelled target images (None without them)."""
        state = self.state
        if state.target_val_scan is None:
            return None
        model = self.deployed()
        if state.use_cache and not self.changes_backbone:
            features, labels = self._cached_target_val()
            batches = FeatureBatches(features, labels, state.recipe.batch_size)
            model = model.head
        else:
            batches = self.loader(state.target_val_scan)
        stats = evaluate(model, batches, nn.CrossEntropyLoss(), state.device, state.precision,
                         state.micro_batch)
        return stats.accuracy

    def _cached_target_val(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._target_val_features is None:
            self._target_val_features = self.features(self.state.target_val_scan,
                                                      "extracting labelled target features")
        return self._target_val_features

    # Helpers the methods share.
    def loader(self, scan, shuffle: bool = False) -> DataLoader:
        """Eval-transformed images of `scan`, in the recipe's batch size."""
        state = self.state
        dataset = ImageFolderDataset(scan, eval_transform(state.image_size))
        generator = state.generator if shuffle else None
        return ImageLoader(dataset, batch_size=state.recipe.batch_size, shuffle=shuffle,
                           generator=generator, num_workers=state.recipe.num_workers)

    def features(self, scan, phase: str) -> tuple[torch.Tensor, torch.Tensor]:
        from tlstudio.training.stages import cached_features

        dataset = ImageFolderDataset(scan, eval_transform(self.state.image_size))
        return cached_features(self.state, dataset, phase)


def cycle(make: Callable[[], Iterator]) -> Iterator:
    """Batches of `make()` passes, one pass after another, for ever."""
    while True:
        yield from make()


def prepare_target(state: FitState) -> None:
    """Scan the recipe's target folders (unlabelled images; labelled ones with the training
    classes) when it has them."""
    recipe = state.recipe
    if not recipe.target_dir:
        return

    def progress(done: int, total: int) -> None:
        state.emit(PhaseProgress("scanning target images", done, total))

    cancelled = lambda: state.control.stopped  # noqa: E731
    state.target_scan = scan_images(recipe.target_dir, progress, cancelled)
    if recipe.target_val_dir:
        state.target_val_scan = scan_folder(recipe.target_val_dir, classes=state.classes,
                                            progress=progress, cancel=cancelled)


def attach(state: FitState) -> None:
    """The recipe's adaptation method for this fit; RecipeError when it does not fit the
    layers that train (feature methods need a frozen backbone, DANN trainable stages)."""
    from tlstudio.training.adapt_methods import METHODS

    if state.target_scan is None:
        return
    method = METHODS[state.recipe.adapt]
    if method.needs_cache and not state.use_cache:
        raise RecipeError(f"'{method.name}' adaptation aligns cached backbone features: it "
                          "needs a frozen backbone (only the head trains) and the feature "
                          "cache, with no augmentation or mixing")
    if method.needs_trainable_backbone and state.use_cache:
        raise RecipeError(f"'{method.name}' adaptation changes the backbone's features: it "
                          "needs stages of the backbone that train")
    state.adaptation = method(state)
    labelled = len(state.target_val_scan) if state.target_val_scan is not None else 0
    state.notes.append(LogMessage(
        f"Domain adaptation: {method.name}, {len(state.target_scan)} target image(s)"
        + (f", {labelled} labelled" if labelled else "")))
