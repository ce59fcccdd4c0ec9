"""The Recipe: every setting of a training run, the one contract between window, CLI and engine.

A recipe round-trips through JSON unchanged, so a run started in the window replays headless.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlstudio import atomic
from tlstudio.errors import RecipeError

FREEZE_PATTERN = re.compile(r"^(backbone|none|stages:\d+)$")
DEVICES = ("auto", "cpu", "cuda", "mps")
AUGMENTS = ("none", "light", "strong")
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("constant", "cosine", "onecycle", "step")
MONITORS = ("val_loss", "val_accuracy")
BALANCES = ("none", "sampler", "loss")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Recipe:
    data_dir: str  # training folder: one subfolder per class
    out_dir: str = "runs/run"  # where metrics, model and recipe are written
    backbone: str = "tf_efficientnet_lite0"  # a name from `tlstudio backbones`
    weights: str | None = None  # a local weights file overriding the backbone's source
    val_dir: str | None = None  # a separate validation folder; else val_split is used
    val_split: float = 0.2  # fraction of each class held out when val_dir is None
    freeze: str = "backbone"  # "backbone" (head only), "none", or "stages:K" (first K stages)
    unfreeze: tuple[str, ...] = ()  # glob patterns of parameter names made trainable again
    train_stages: tuple[str, ...] = ()  # if set, exactly these stages train (the freeze tree)
    epochs: int = 5
    batch_size: int = 32
    lr: float = 1e-3  # peak learning rate (the schedule scales it per batch)
    weight_decay: float = 1e-4
    optimizer: str = "adamw"  # adamw, adam, or sgd (momentum 0.9)
    schedule: str = "constant"  # constant, cosine, onecycle or step (x0.1 every third)
    warmup_epochs: float = 0.0  # linear warm-up from ~0 to lr over this many epochs
    label_smoothing: float = 0.0  # 0 = plain cross-entropy; 0.1 is a common choice
    augment: str = "none"  # none, light or strong; training images only
    # Overrides of the preset's individual controls: crop_scale, hflip, vflip, rotation, shift,
    # shear, zoom, color_jitter (see PRESETS in tlstudio/data/augment.py); {} = the preset as is.
    augment_options: dict[str, Any] = field(default_factory=dict)
    mixup_alpha: float = 0.0  # MixUp of training batches (Beta(a, a) weights); 0 = off
    cutmix_alpha: float = 0.0  # CutMix of training batches; 0 = off; with MixUp, one per batch
    balance: str = "none"  # none, sampler (rare classes drawn more often) or loss (weighted)
    image_size: int | None = None  # None: the backbone's default input size
    device: str = "auto"  # auto, cpu, cuda or mps
    seed: int = 0
    num_workers: int = 0  # DataLoader workers; 0 decodes in the training thread
    threads: int | None = None  # torch CPU threads; None keeps torch's default
    feature_cache: bool = True  # cache frozen-backbone features when only the head trains
    monitor: str = "val_loss"  # the metric that picks the best epoch, stops early, lowers lr
    keep_best: bool = True  # the run's model is the best epoch's, not the last one's
    early_stopping_patience: int | None = None  # stop after this many epochs without progress
    reduce_lr_patience: int | None = None  # lower lr after this many epochs without progress
    reduce_lr_factor: float = 0.1  # what reduce-on-plateau multiplies the lr by
    # Two-phase fine-tuning: the first head_epochs epochs train the head only (backbone
    # frozen), then freeze/train_stages apply. 0 = one phase.
    head_epochs: int = 0
    # Discriminative lrs: the last trainable backbone stage gets lr*lr_decay, the trainable
    # stage before it lr*lr_decay**2, ...; the head gets lr. 1.0 = the same lr everywhere.
    lr_decay: float = 1.0
    precision: str = "auto"  # auto, fp32, bf16 or fp16 (autocast); see training/precision.py
    channels_last: bool | None = None  # NHWC layout; None = auto (CUDA, and CPU bf16)
    extra: dict[str, Any] = field(default_factory=dict)  # settings added by later versions

    def __post_init__(self) -> None:
        if not FREEZE_PATTERN.match(self.freeze):
            raise RecipeError(
                f"freeze must be 'backbone', 'none' or 'stages:K', not {self.freeze!r}"
            )
        if self.device not in DEVICES:
            raise RecipeError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.epochs < 1:
            raise RecipeError("epochs must be at least 1")
        if self.batch_size < 1:
            raise RecipeError("batch size must be at least 1")
        if not self.lr > 0:
            raise RecipeError("learning rate must be positive")
        if self.val_dir is None and not 0.0 < self.val_split < 1.0:
            raise RecipeError("validation split must be between 0 and 1 (e.g. 0.2)")
        if self.image_size is not None and self.image_size < 16:
            raise RecipeError("image size must be at least 16 pixels")
        self._check_training_controls()
        self._check_data_controls()
        self._check_fine_tuning()

    def _check_training_controls(self) -> None:
        for name, allowed in (("augment", AUGMENTS), ("optimizer", OPTIMIZERS),
                              ("schedule", SCHEDULES), ("monitor", MONITORS)):
            value = getattr(self, name)
            if value not in allowed:
                raise RecipeError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        if self.weight_decay < 0:
            raise RecipeError("weight decay cannot be negative")
        if not 0 <= self.warmup_epochs <= self.epochs:
            raise RecipeError("warm-up epochs must be between 0 and the number of epochs")
        if not 0 <= self.label_smoothing < 1:
            raise RecipeError("label smoothing must be at least 0 and below 1 (e.g. 0.1)")
        for name in ("early_stopping_patience", "reduce_lr_patience"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise RecipeError(f"{name.replace('_', ' ')} must be at least 1 epoch")
        if not 0 < self.reduce_lr_factor < 1:
            raise RecipeError("reduce-LR factor must be between 0 and 1 (e.g. 0.1)")

    def _check_data_controls(self) -> None:
        from tlstudio.data.augment import augment_settings  # imports torch; and this module

        if not isinstance(self.augment_options, dict):
            raise RecipeError("augment_options must be a set of named options, e.g. "
                              '{"vflip": true, "rotation": 20}')
        augment_settings(self.augment, self.augment_options)
        for name, label in (("mixup_alpha", "MixUp"), ("cutmix_alpha", "CutMix")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    0 <= value <= 100):
                raise RecipeError(f"{label} strength must be 0 (off) or a positive number such "
                                  f"as 0.2 or 1.0, not {value!r}")
        if self.balance not in BALANCES:
            raise RecipeError(f"balance must be one of {', '.join(BALANCES)}, not "
                              f"{self.balance!r}")

    def mixes(self) -> bool:
        """True when training batches are mixed (MixUp or CutMix)."""
        return self.mixup_alpha > 0 or self.cutmix_alpha > 0
    def _check_fine_tuning(self) -> None:
        if self.head_epochs < 0:
            raise RecipeError("head epochs cannot be negative (0 = no head-only phase)")
        if self.head_epochs >= self.epochs and self.head_epochs > 0:
            raise RecipeError(
                f"head epochs ({self.head_epochs}) must be fewer than the epochs ({self.epochs}),"
                " so that the unfrozen stages train for at least one epoch")
        if not 0 < self.lr_decay <= 1:
            raise RecipeError("lr decay must be above 0 and at most 1 (e.g. 0.5 halves the lr "
                              "for each earlier stage; 1 = the same lr everywhere)")
        if self.precision not in PRECISIONS:
            raise RecipeError(f"precision must be one of {', '.join(PRECISIONS)}, "
                              f"not {self.precision!r}")
        if self.channels_last not in (None, True, False):
            raise RecipeError("channels_last must be true, false or null (auto)")

    def replace(self, **changes: Any) -> Recipe:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["unfreeze"] = list(self.unfreeze)
        d["train_stages"] = list(self.train_stages)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise RecipeError(f"Unknown recipe setting(s): {', '.join(unknown)}")
        if "data_dir" not in d:
            raise RecipeError("The recipe has no data_dir (the training folder)")
        d = dict(d)
        d["unfreeze"] = tuple(d.get("unfreeze") or ())
        d["train_stages"] = tuple(d.get("train_stages") or ())
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise RecipeError(f"The recipe is not valid JSON: {e}") from None
        if not isinstance(d, dict):
            raise RecipeError("The recipe must be a JSON object")
        return cls.from_dict(d)

    def save(self, path: str | Path) -> None:
        atomic.write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Recipe:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise RecipeError(f"Cannot read recipe '{path}': {e.strerror}") from None
        return cls.from_json(text)
