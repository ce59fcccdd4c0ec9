"""Frozen-backbone features computed once, so epochs after the first train only the head; a
`FeatureStore` shares them between fits on the same backbone and images (a comparison's head
strategies extract once per backbone and fold), and the frozen backbone itself (built once)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader

from tlstudio.errors import TrainingStopped
from tlstudio.models.classifier import BuiltBackbone, Classifier
from tlstudio.training.events import RunControl
from tlstudio.training.loops import forward_in_chunks
from tlstudio.training.micro_batch import MicroBatch
from tlstudio.training.precision import FP32, PrecisionPlan


@torch.inference_mode()
def extract_features(
    model: Classifier,
    loader: DataLoader,
    device: torch.device,
    progress: Callable[[int, int], None],
    control: RunControl,
    precision: PrecisionPlan = FP32,
    micro_batch: MicroBatch | None = None,  # the run's; splits a batch too big for memory
) -> tuple[torch.Tensor, torch.Tensor]:
    """(features, labels) for every sample of an unshuffled loader, on ``device``."""
    model.eval()
    micro_batch = micro_batch or MicroBatch(device)

    def forward(part: torch.Tensor) -> torch.Tensor:
        with precision.autocast_context():  # the features are stored as fp32 either way
            return model.features(part).float()

    # Written into tensors of the final size as batches come: the pass holds one batch of
    # images and the features, never a second copy of them (as concatenating at the end would).
    feats = labels = None
    done, total = 0, len(loader.dataset)
    for x, y in loader:
        control.wait_if_paused()
        if control.stopped:
            raise TrainingStopped("Stopped while extracting features")
        f = forward_in_chunks(forward, precision.inputs(x.to(device)), micro_batch)
        if feats is None:
            feats = f.new_empty((total, *f.shape[1:]))
            labels = y.new_empty((total, *y.shape[1:]), device=device)
        n = y.shape[0]
        feats[done:done + n] = f
        labels[done:done + n] = y
        done += n
        progress(done, total)
    if feats is None:
        raise ValueError("no images to extract features from")
    return feats[:done], labels[:done]


class FeatureBatches(Iterable[tuple[torch.Tensor, torch.Tensor]]):
    """Mini-batches over cached features; reshuffled each pass when a generator is given.

    With per-sample ``weights`` each pass instead draws len(labels) samples with replacement in
    proportion to them (the balancing sampler's behaviour for cached features).
    """

    def __init__(
        self,
        features: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        generator: torch.Generator | None = None,
        weights: torch.Tensor | None = None,
    ) -> None:
        self.features, self.labels, self.weights = features, labels, weights
        self.batch_size, self.generator = batch_size, generator

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        if self.weights is not None:
            order = torch.multinomial(self.weights, n, replacement=True, generator=self.generator)
        elif self.generator is not None:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = torch.arange(n)
        order = order.to(self.labels.device)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.features[idx], self.labels[idx]


Features = tuple[torch.Tensor, torch.Tensor]


@dataclass
class FeatureStore:
    """Features by what determines them (backbone, weights, image size, precision, the images),
    kept in memory for the fits that share this store; and the backbones of fits that leave
    theirs frozen, so those fits skip building (and reading the weights of) the same one."""

    saved: dict[Hashable, Features] = field(default_factory=dict)
    hits: int = 0  # extractions saved
    backbones: dict[Hashable, tuple[BuiltBackbone, torch.Tensor]] = field(default_factory=dict)

    def get(self, key: Hashable, compute: Callable[[], Features]) -> Features:
        if key in self.saved:
            self.hits += 1
        else:
            self.saved[key] = compute()
        return self.saved[key]

    def backbone(self, key: Hashable, build: Callable[[], BuiltBackbone]) -> BuiltBackbone:
        """The backbone `build` gives, built once per key and random state: a fit that reuses
        it leaves torch's random generator as building it would have (the new head then
        starts from the same random weights, so a shared backbone changes no result)."""
        key = (key, torch.get_rng_state().numpy().tobytes())
        if key not in self.backbones:
            built = build()
            self.backbones[key] = (built, torch.get_rng_state())
        built, after = self.backbones[key]
        torch.set_rng_state(after)
        return built
