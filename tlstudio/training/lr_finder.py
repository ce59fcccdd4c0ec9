"""The learning-rate range test (Leslie Smith 2015, fastai's ``lr_find``): train a fresh copy of
the recipe's model for a few batches while the lr rises exponentially, record the smoothed loss,
and suggest an lr. Set up by the fit's own stages (data, model, feature cache, optimizer); the
model and optimizer are thrown away; nothing is written to disk.

The suggestion is the lr where the smoothed loss falls fastest (the steepest negative slope
against log lr, looking only up to the loss minimum); when the curve never falls, it is the lr
of the minimum divided by 10. The test stops early once the smoothed loss exceeds 4x its minimum.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tlstudio import atomic
from tlstudio.data import ImageFolderDataset, ImageLoader, eval_transform
from tlstudio.errors import RecipeError
from tlstudio.recipe import Recipe
from tlstudio.training import stages
from tlstudio.training.events import Event, LogMessage, PhaseProgress, RunControl
from tlstudio.training.feature_cache import FeatureBatches
from tlstudio.training.loops import train_step
from tlstudio.training.optim import build_loss

SMOOTHING = 0.98  # exponential moving average of the loss, bias-corrected (as fastai)
DIVERGENCE = 4.0  # stop once the smoothed loss exceeds this multiple of its minimum


@dataclass(frozen=True)
class LRFinderResult:
    lrs: tuple[float, ...]  # the rate of each step, rising exponentially
    losses: tuple[float, ...]  # the smoothed training loss after each step
    suggested_lr: float | None  # None when too few steps ran to say

    def table(self, rows: int = 10) -> str:
        """A few (lr, loss) rows spread over the curve, the suggestion marked."""
        if not self.lrs:
            return "no steps ran"
        picks = sorted(set(np.linspace(0, len(self.lrs) - 1, min(rows, len(self.lrs)))
                           .round().astype(int).tolist()))
        marked = None
        if self.suggested_lr is not None:  # the row nearest the suggestion (on a log scale)
            distance = [abs(math.log(self.lrs[i] / self.suggested_lr)) for i in picks]
            marked = picks[int(np.argmin(distance))]
        lines = [f"{'lr':>10}  {'loss':>8}"]
        for i in picks:
            mark = "  <- suggestion" if i == marked else ""
            lines.append(f"{self.lrs[i]:>10.3g}  {self.losses[i]:>8.4f}{mark}")
        return "\n".join(lines)


def lr_find(
    recipe: Recipe,
    control: RunControl | None = None,
    emit: Callable[[Event], None] | None = None,
    steps: int = 100,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
) -> LRFinderResult:
    """Run the range test on the recipe's training images (un-augmented) with its freeze,
    optimizer, lr_decay ratios and precision. Uses cached backbone features when only the head
    trains. A stop request ends it early with the steps so far."""
    if steps < 5:
        raise RecipeError("the LR finder needs at least 5 steps")
    if not 0 < start_lr < end_lr:
        raise RecipeError("the LR finder's start lr must be positive and below its end lr")
    state = stages.start(recipe, [emit] if emit else (), control, recipe_callbacks_too=False)
    stages.prepare_data(state)
    stages.build_model(state)
    for note in state.notes:  # a train/ + val/ root: trains on train/
        state.emit(note)
    dataset = ImageFolderDataset(state.train_scan, eval_transform(state.image_size))
    step_model, batches = state.model, ImageLoader(
        dataset, batch_size=recipe.batch_size, shuffle=True, generator=state.generator,
        num_workers=recipe.num_workers)
    if stages.wants_feature_cache(state):
        state.emit(LogMessage("Only the head trains: the LR finder uses cached backbone "
                              "features"))
        features, labels = stages.cached_features(state, dataset, "extracting features")
        step_model = state.model.head
        batches = FeatureBatches(features, labels, recipe.batch_size, state.generator)
    optimizer = stages.make_optimizer(state)
    ratios = [group["lr"] / recipe.lr for group in optimizer.param_groups]
    lrs, losses = _ramp(step_model, batches, optimizer, ratios, state,
                        _ramp_rates(start_lr, end_lr, steps))
    suggestion = suggest_lr(lrs, losses)
    if suggestion is not None:
        state.emit(LogMessage(f"LR finder: suggested learning rate {suggestion:.3g}"))
    return LRFinderResult(tuple(lrs), tuple(losses), suggestion)


def _ramp_rates(start_lr: float, end_lr: float, steps: int) -> list[float]:
    return [start_lr * (end_lr / start_lr) ** (i / (steps - 1)) for i in range(steps)]


def _ramp(model, batches, optimizer, ratios, state: stages.FitState,
          rates) -> tuple[list[float], list[float]]:
    """One optimizer step per rate; the smoothed losses until the loss diverges."""
    control, device, precision = state.control, state.device, state.precision
    loss_fn = build_loss(state.recipe)
    scaler = precision.make_scaler()
    model.train()
    lrs: list[float] = []
    losses: list[float] = []
    average, lowest = 0.0, math.inf
    for i, (lr, (x, y)) in enumerate(zip(rates, _endless(batches), strict=False)):
        control.wait_if_paused()
        if control.stopped:
            break
        for group, ratio in zip(optimizer.param_groups, ratios, strict=True):
            group["lr"] = lr * ratio
        x, y = precision.inputs(x.to(device)), y.to(device)
        _, loss = train_step(model, x, y, optimizer, loss_fn, state.micro_batch, precision,
                             scaler)
        value = loss.item()
        if not math.isfinite(value):
            break
        average = SMOOTHING * average + (1 - SMOOTHING) * value
        smoothed = average / (1 - SMOOTHING ** (i + 1))
        lrs.append(lr)
        losses.append(smoothed)
        lowest = min(lowest, smoothed)
        state.emit(PhaseProgress("finding the learning rate", i + 1, len(rates)))
        if smoothed > DIVERGENCE * lowest:
            break
    return lrs, losses


def _endless(batches) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            return


def suggest_lr(lrs: list[float] | tuple[float, ...],
               losses: list[float] | tuple[float, ...]) -> float | None:
    """The lr of the steepest fall of the loss before its minimum, else the minimum's lr / 10."""
    if len(lrs) < 3:
        return None
    loss = np.asarray(losses, dtype=np.float64)
    log_lr = np.log10(np.asarray(lrs, dtype=np.float64))
    lowest = int(loss.argmin())
    skip = len(lrs) // 10  # the first points average only a few batches: noise (fastai skips)
    if lowest >= skip + 2:
        # central differences, before the minimum
        slope = np.gradient(loss, log_lr)[skip:lowest]
        steepest = skip + int(slope.argmin())
        if slope[steepest - skip] < 0:
            return float(lrs[steepest])
    return float(max(lrs[lowest] / 10, lrs[0]))


def plot_lr_find(result: LRFinderResult, path: str | Path, size: tuple[int, int] = (640, 400)
                 ) -> Path:
    """Loss against lr (log axis) as a PNG, the suggestion as a red line; drawn with Pillow."""
    from PIL import Image, ImageDraw

    if len(result.lrs) < 2:
        raise RecipeError("The LR finder ran too few steps to plot")
    width, height = size
    left, right, top, bottom = 60, 20, 20, 40
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    log_lr = np.log10(result.lrs)
    loss = np.asarray(result.losses)
    lo, hi = float(loss.min()), float(loss.max()) or 1.0

    def xy(lg: float, value: float) -> tuple[float, float]:
        x = left + (lg - log_lr[0]) / (log_lr[-1] - log_lr[0]) * (width - left - right)
        y = top + (hi - value) / max(hi - lo, 1e-12) * (height - top - bottom)
        return x, y

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    draw.line([xy(a, b) for a, b in zip(log_lr, loss, strict=True)], fill="navy", width=2)
    for decade in range(math.ceil(log_lr[0]), math.floor(log_lr[-1]) + 1):
        x, _ = xy(decade, lo)
        draw.text((x - 12, height - bottom + 6), f"1e{decade}", fill="black")
    draw.text((4, top), f"{hi:.3g}", fill="black")
    draw.text((4, height - bottom - 12), f"{lo:.3g}", fill="black")
    draw.text((left, height - 16), "learning rate (log) vs smoothed training loss",
              fill="black")
    if result.suggested_lr is not None:
        x, _ = xy(math.log10(result.suggested_lr), lo)
        draw.line([(x, top), (x, height - bottom)], fill="red", width=1)
        draw.text((x + 4, top + 4), f"{result.suggested_lr:.2g}", fill="red")
    path = Path(path)
    buffer = io.BytesIO()  # then written atomically: a full disk leaves no half a PNG
    image.save(buffer, format=Image.registered_extensions().get(path.suffix.lower(), "PNG"))
    atomic.write_bytes(path, buffer.getvalue())
    return path
