"""The Recipe: every setting of a training run, the one contract between window, CLI and engine.

Each field declares its Setting (label, help, range, group; see tlstudio/settings.py) where it
is defined. A recipe round-trips through JSON unchanged, so a run started in the window replays
headless; a saved recipe is in normal form (trainable stages listed, absolute paths).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import InitVar, dataclass
from pathlib import Path
from typing import Any

from tlstudio import atomic
from tlstudio.errors import RecipeError
from tlstudio.settings import Setting, check_value, setting, settings_of

DEVICE_CHOICES = (("auto", "Auto (best available)"), ("cpu", "CPU"), ("cuda", "CUDA GPU"),
                  ("mps", "Apple GPU (MPS)"))
AUGMENT_CHOICES = (("none", "None"), ("light", "Light"), ("strong", "Strong"))
OPTIMIZER_CHOICES = (("adamw", "AdamW"), ("adam", "Adam"), ("sgd", "SGD (momentum 0.9)"))
SCHEDULE_CHOICES = (("constant", "Constant"), ("cosine", "Cosine"), ("onecycle", "One-cycle"),
                    ("step", "Step (×0.1 every third)"))
MONITOR_CHOICES = (("val_loss", "Validation loss"), ("val_accuracy", "Validation accuracy"))
BALANCE_CHOICES = (("none", "None"), ("sampler", "Weighted sampler"),
                   ("loss", "Class-weighted loss"))
# What the head-only strategy fits on the frozen features: the trained linear layer, or
# scikit-learn on the cached features (training/classical_heads.py).
HEAD_CHOICES = (("linear", "Linear layer (trained)"), ("logreg", "Logistic regression"),
                ("svm", "Linear SVM"), ("knn", "k-nearest neighbours"))
PRECISION_CHOICES = (("auto", "Auto (fastest measured)"), ("fp32", "fp32"), ("bf16", "bf16"),
                     ("fp16", "fp16"))
# Domain adaptation (training/adaptation.py): what changes the model for the target images.
ADAPT_CHOICES = (("none", "No adaptation"), ("adabn", "BatchNorm statistics of the target"),
                 ("align", "Align features per domain (frozen backbone)"),
                 ("coral", "CORAL: source features recoloured as the target's (frozen backbone)"),
                 ("entropy", "Confident, diverse target predictions"),
                 ("dann", "Domain-adversarial (trainable stages)"),
                 ("auto", "Auto (best target accuracy)"))
ADAPTS = tuple(value for value, _ in ADAPT_CHOICES)
DEVICES, AUGMENTS, OPTIMIZERS, SCHEDULES, MONITORS, BALANCES, PRECISIONS = (
    tuple(value for value, _ in choices) for choices in (
        DEVICE_CHOICES, AUGMENT_CHOICES, OPTIMIZER_CHOICES, SCHEDULE_CHOICES, MONITOR_CHOICES,
        BALANCE_CHOICES, PRECISION_CHOICES))
HEAD_ONLY = ("classifier",)  # models.classifier.HEAD_STAGE: the new head alone trains
PATH_FIELDS = ("data_dir", "val_dir", "weights", "out_dir", "target_dir", "target_val_dir")
MANY_EPOCHS = 10_000
# What the LR finder (training/lr_finder.py) honours: it trains on un-augmented images, one
# ramp of steps whose lrs are ratios of its own range, and writes no run folder.
LR_FIND_FIELDS = frozenset({
    "data_dir", "val_dir", "val_split", "backbone", "weights", "train_stages", "unfreeze",
    "batch_size", "image_size", "device", "seed", "num_workers", "threads", "feature_cache",
    "image_cache",
    "optimizer", "weight_decay", "lr_decay", "label_smoothing", "precision", "channels_last"})
# What `tlstudio compare` takes from train's options: each strategy sets the rest itself.
STRATEGY_FIELDS = frozenset({"backbone", "head", "pretrained", "head_epochs", "train_stages",
                             "unfreeze"})
# The strategy names (comparison/strategies.py); here so `--help` imports no torch.
STRATEGY_NAMES = ("logreg", "svm", "knn", "head", "last-stage", "last-two", "full", "two-phase",
                  "scratch")
MIXING = "must be 0 (off) or a positive number such as 0.2 or 1.0, at most 100"

# The controls of an augmentation preset (data/augment.py's PRESETS), which augment_options
# override, declared once: the CLI's --flag, the window's field, the checks.
AUGMENT_OPTIONS: dict[str, Setting] = {
    "crop_scale": Setting(
        "Crop ≥", "random crops keep at least this fraction of the image area (1 = off)",
        "augmentation", "float", low=0.05, high=1.0, decimals=2, step=0.05,
        flag="--aug-crop-scale", metavar="F"),
    "rotation": Setting(
        "Rotate", "rotate up to this many degrees", "augmentation", "float", low=0.0,
        high=180.0, decimals=1, step=5.0, unit="°", zero_means="off", metavar="DEG"),
    "shift": Setting(
        "Shift", "shift up to this fraction of the width and height", "augmentation", "float",
        low=0.0, high=0.5, decimals=2, step=0.05, zero_means="off", metavar="F"),
    "shear": Setting(
        "Shear", "shear up to this many degrees", "augmentation", "float", low=0.0, high=45.0,
        decimals=1, step=5.0, unit="°", zero_means="off", metavar="DEG"),
    "zoom": Setting(
        "Zoom ±", "zoom by 1-F to 1+F (0.1 zooms between 0.9x and 1.1x)", "augmentation",
        "float", low=0.0, high=0.9, decimals=2, step=0.05, zero_means="off", metavar="F"),
    "color_jitter": Setting(
        "Color", "brightness, contrast, saturation and hue jitter strength, 0 (off) to 1",
        "augmentation", "float", low=0.0, high=1.0, decimals=2, step=0.05, zero_means="off",
        metavar="F"),
    "hflip": Setting("Flip ↔", "flip left-right half of the time", "augmentation", "bool",
                     cli="both"),
    "vflip": Setting("Flip ↕", "flip upside down half of the time", "augmentation", "bool",
                     cli="both"),
}


@dataclass(frozen=True)
class Recipe:
    data_dir: str = setting(
        label="Training folder", help="one subfolder per class", group="data", kind="path",
        beginner=True, cli="")
    out_dir: str = setting(
        "runs/run", label="Run folder", help="where metrics, model and recipe are written",
        group="output", kind="path", beginner=True, flag="--out",
        cli_default="~/tlstudio/runs/DATA, or the recipe's out_dir; -2, -3 ... added when that "
        "already holds a run")
    backbone: str = setting(
        "tf_efficientnet_lite0", label="Backbone", help="a name from `tlstudio backbones`",
        group="backbone", kind="text", beginner=True)
    weights: str | None = setting(
        None, label="Weights file", help="a local weights file (safetensors or a state dict) "
        "instead of the backbone's own", group="backbone", kind="path",
        none_means="the backbone's own weights", beginner=True)
    pretrained: bool = setting(
        True, label="Pretrained weights", help="start from the backbone's pretrained weights "
        "(--random-weights: the same architecture from random weights, to check that the "
        "pretrained start helps)", group="backbone", kind="bool", flag="--random-weights",
        cli="off", window=False)
    val_dir: str | None = setting(
        None, label="Validation folder", help="a separate folder with the same class "
        "subfolders", group="data", kind="path", beginner=True, flag="--val",
        none_means="hold out the validation split", exclusive="validation")
    val_split: float = setting(
        0.2, label="Validation split", help="fraction of each class held out for validation "
        "when there is no validation folder", group="data", kind="float", beginner=True,
        low=0.01, high=0.9, decimals=4, step=0.05, percent=True, exclusive="validation",
        example="e.g. 0.2")
    # The final model of a chosen recipe: every image trains, so nothing measures it (the
    # comparison's or cross-validation's accuracy is the estimate); training/all_data.py.
    all_data: bool = setting(
        False, label="Train on all images", help="train on every image (the training folder "
        "and the validation folder, nothing held out): no validation accuracy, the last "
        "epoch is the model", group="data", kind="bool", cli="on", window=False)
    # Cross-validation (training/cross_validation.py) trains the recipe once per fold; each
    # fold's own run has folds None.
    folds: int | None = setting(
        None, label="Cross-validation folds", help="stratified K-fold: train K times, each "
        "fold held out once; reports mean and spread, scores every image out of fold",
        group="training", kind="int", low=2, high=100, none_means="off", metavar="K")
    # Domain adaptation: shown in the window's Data step, behind its "other images" toggle.
    target_dir: str | None = setting(
        None, label="Target images (unlabelled)", help="images from where the model will be "
        "used (another camera, microscope or season) that look different from the training "
        "images; the model adapts to them, no labels needed",
        group="data", kind="path", beginner=True, none_means="no target domain",
        flag="--target")
    target_val_dir: str | None = setting(
        None, label="Labelled target images (optional)", help="a few target images sorted "
        "into the same class subfolders: each epoch reports the accuracy on them, and Auto "
        "adaptation picks the method that scores best on them", group="data", kind="path",
        beginner=True, none_means="none", flag="--target-val")
    adapt: str = setting(
        "none", label="Adapt the model to them", help="how the model adapts to the target "
        "images; Auto tries each method and keeps the best on the labelled target images",
        group="data", kind="choice", choices=ADAPT_CHOICES, beginner=True)
    # The normal form of "what trains": freeze and the window's checked stages both end here.
    train_stages: tuple[str, ...] = setting(
        HEAD_ONLY, label="Stages that train", help="exactly these stages train (names as in "
        "the window's freeze tree; the head is 'classifier')", group="layers", kind="list",
        beginner=True, cli="list", metavar="STAGE", exclusive="stages")
    head: str = setting(
        "linear", label="Head", help="with only the head training: a trained linear layer, or "
        "scikit-learn's logistic regression, linear SVM or k-nearest neighbours fitted on the "
        "frozen features in seconds", group="layers", kind="choice", choices=HEAD_CHOICES)
    # Globs pick single parameters (e.g. every norm layer, '*.bn*'), finer than stages, so
    # they stay a setting of their own.
    unfreeze: tuple[str, ...] = setting(
        (), label="Also train", help="glob patterns of parameter names that train as well",
        group="layers", kind="list", cli="list", metavar="GLOB", window=False)
    epochs: int = setting(
        5, label="Epochs", help="passes over the training images", group="training",
        kind="int", beginner=True, low=1, high=MANY_EPOCHS)
    batch_size: int = setting(
        32, label="Batch size", help="images per training step", group="training", kind="int",
        beginner=True, low=1, high=4096)
    lr: float = setting(
        1e-3, label="Learning rate", help="peak learning rate; 0.001 suits a new head, 0.0001 "
        "fine-tuning", group="training", kind="float", beginner=True, low=1e-8, high=10.0,
        decimals=10)
    optimizer: str = setting(
        "adamw", label="Optimizer", help="how the weights follow the gradients",
        group="schedule", kind="choice", choices=OPTIMIZER_CHOICES)
    weight_decay: float = setting(
        1e-4, label="Weight decay", help="shrinks the weights a little every step",
        group="schedule", kind="float", low=0.0, high=1.0, decimals=10, step=1e-4)
    schedule: str = setting(
        "constant", label="Schedule", help="how the learning rate changes over the epochs",
        group="schedule", kind="choice", choices=SCHEDULE_CHOICES)
    warmup_epochs: float = setting(
        0.0, label="Warm-up", help="linear warm-up from ~0 to the learning rate over this many "
        "epochs (at most the number of epochs)", group="schedule", zero_means="off",
        kind="float", low=0.0,
        high=MANY_EPOCHS, decimals=2, step=0.5, unit="epochs")
    label_smoothing: float = setting(
        0.0, label="Label smoothing", help="0 = plain cross-entropy; 0.1 is a common choice",
        group="schedule", zero_means="off", kind="float", low=0.0, high=0.99, decimals=3,
        step=0.05,
        example="e.g. 0.1")
    augment: str = setting(
        "none", label="Augmentation", help="random changes to training images; validation "
        "images never change", group="augmentation", kind="choice", choices=AUGMENT_CHOICES)
    # Overrides of the preset's individual controls: crop_scale, hflip, vflip, rotation, shift,
    # shear, zoom, color_jitter (see PRESETS in tlstudio/data/augment.py); {} = the preset as is.
    augment_options: dict[str, Any] = setting(
        {}, label="Augmentation controls", help="overrides of the preset's controls (the "
        "--aug-* and flip options)", group="augmentation", kind="dict", cli="")
    mixup_alpha: float = setting(
        0.0, label="MixUp α", help="MixUp blends pairs of images and labels; 0.2-0.4 is "
        "typical, 0 = off", group="augmentation", zero_means="off", kind="float", low=0.0,
        high=100.0,
        decimals=3, step=0.1, flag="--mixup", metavar="ALPHA", invalid="MixUp strength " + MIXING)
    cutmix_alpha: float = setting(
        0.0, label="CutMix α", help="CutMix pastes a patch of another image; 1.0 is typical, "
        "0 = off; with MixUp, one of them per batch", group="augmentation", zero_means="off",
        kind="float",
        low=0.0, high=100.0, decimals=3, step=0.1, flag="--cutmix", metavar="ALPHA",
        invalid="CutMix strength " + MIXING)
    balance: str = setting(
        "none", label="Balance", help="for uneven classes: draw rare classes more often, or "
        "weight the loss", group="balance", kind="choice", choices=BALANCE_CHOICES)
    image_size: int | None = setting(
        None, label="Image size", help="images are resized and centre-cropped to this size",
        group="training", kind="int", beginner=True, low=16, high=2048, step=8, unit="px",
        none_means="the backbone's input size")
    device: str = setting(
        "auto", label="Device", help="where training runs (cuda:N: the GPU numbered N)",
        group="training", kind="choice", beginner=True, choices=DEVICE_CHOICES,
        pattern=r"cuda:\d+", pattern_text="cuda:N")
    seed: int = setting(
        0, label="Seed", help="the same seed gives the same split, order and start",
        group="training", kind="int", beginner=True, low=0, high=2**31 - 1)
    num_workers: int | None = setting(
        None, label="Loader workers", help="data loading processes; 0 decodes in the training "
        "thread", group="speed", kind="int", low=0, high=64, flag="--workers", window=False,
        none_means="auto: one per spare core (at most 4) when decoding the images costs "
        "more than starting them, else 0")
    threads: int | None = setting(
        None, label="CPU threads", help="CPU threads for torch", group="training",
        kind="int", beginner=True, low=1, high=1024,
        none_means="auto (the window leaves one core to itself)")
    feature_cache: bool = setting(
        True, label="Feature cache", help="cache the frozen backbone's features when only the "
        "head trains (--no-feature-cache runs the backbone every epoch)", group="speed",
        kind="bool", flag="--no-feature-cache", cli="off", window=False)
    image_cache: bool = setting(
        True, label="Image cache", help="keep large photos decoded and pre-resized in the "
        "user's cache folder, so epochs after the first read no JPEG (--no-image-cache "
        "decodes every epoch)", group="speed", kind="bool", flag="--no-image-cache", cli="off",
        window=False)
    monitor: str = setting(
        "val_loss", label="Monitor", help="the metric that picks the best epoch, stops early "
        "and lowers the learning rate", group="callbacks", kind="choice",
        choices=MONITOR_CHOICES)
    keep_best: bool = setting(
        True, label="Keep the best epoch's model", help="the run's model is the best epoch's "
        "(--keep-last: the last one's)", group="callbacks", kind="bool", flag="--keep-last",
        cli="off")
    early_stopping_patience: int | None = setting(
        None, label="Early stopping", help="stop after this many epochs without progress",
        group="callbacks", kind="int", low=1, high=1000, unit="epochs", none_means="off",
        flag="--early-stopping", metavar="PATIENCE")
    reduce_lr_patience: int | None = setting(
        None, label="Reduce LR after", help="lower the learning rate after this many epochs "
        "without progress", group="callbacks", kind="int", low=1, high=1000, unit="epochs",
        none_means="off", flag="--reduce-lr", metavar="PATIENCE")
    reduce_lr_factor: float = setting(
        0.1, label="Reduce LR by", help="what reduce-on-plateau multiplies the learning rate "
        "by", group="callbacks", kind="float", low=0.01, high=0.99, decimals=3, step=0.05,
        example="e.g. 0.1")
    tensorboard: bool = setting(
        False, label="TensorBoard log", help="also write TensorBoard event files into the run "
        "folder (needs the tensorboard package)", group="callbacks", kind="bool", cli="on")
    head_epochs: int = setting(
        0, label="Head only first", help="first train only the new head this many epochs, "
        "then the chosen stages (fewer than the epochs)", group="fine-tuning", zero_means="off",
        kind="int",
        low=0, high=MANY_EPOCHS - 1, unit="epochs", metavar="N",
        invalid="head epochs cannot be negative (0 = no head-only phase) and must be fewer "
        "than the epochs")
    lr_decay: float = setting(
        1.0, label="LR decay per stage", help="each earlier trainable stage gets this times the "
        "next one's learning rate (1 = the same everywhere)", group="fine-tuning",
        kind="float", low=0.01, high=1.0, decimals=3, step=0.1, metavar="F",
        invalid="lr decay must be above 0 (at least 0.01) and at most 1 (e.g. 0.5 halves the "
        "lr for each earlier stage; 1 = the same lr everywhere)")
    precision: str = setting(
        "auto", label="Precision", help="autocast dtype (auto: bf16/fp16 on CUDA, bf16 on CPUs "
        "where faster)", group="speed", kind="choice", choices=PRECISION_CHOICES)
    channels_last: bool | None = setting(
        None, label="Channels-last memory", help="stores images and features channels-last "
        "(NHWC), faster on GPUs and on CPUs with bf16", group="speed", kind="choice",
        choices=((None, "Auto (on where faster)"), (True, "On"), (False, "Off")),
        none_means="auto (CUDA, and CPU bf16)", cli="both")
    unknown_below: float = setting(
        0.0, label="Unknown below", help="the model answers 'unknown' when its top probability "
        "is below this (predict, Try images, exports)", group="output", kind="float", low=0.0,
        high=1.0, decimals=2, step=0.05, zero_means="off", metavar="P",
        example="e.g. 0.6")
    # Input sugar, resolved into train_stages when the recipe is built; never stored.
    freeze: InitVar[str | None] = None

    def __post_init__(self, freeze: str | None) -> None:
        for name in ("train_stages", "unfreeze"):
            if isinstance(getattr(self, name), str):
                raise RecipeError(f"{name} must be a list of names, e.g. [\"classifier\"]")
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if freeze is not None:
            from tlstudio.models import stages_for_freeze  # imports torch

            object.__setattr__(self, "train_stages", stages_for_freeze(self.backbone, freeze))
        if not self.train_stages:
            object.__setattr__(self, "train_stages", HEAD_ONLY)
        for name, s, _ in settings_of(type(self)):
            problem = check_value(name, s, getattr(self, name))
            if problem:
                raise RecipeError(problem)
        self._check_together()

    def _check_together(self) -> None:
        """Rules between fields, which one field's range cannot say."""
        from tlstudio.data.augment import augment_settings  # imports torch; and this module

        if not isinstance(self.augment_options, dict):
            raise RecipeError("augment_options must be a set of named options, e.g. "
                              '{"vflip": true, "rotation": 20}')
        augment_settings(self.augment, self.augment_options)
        if self.adapt != "none" and not self.target_dir:
            raise RecipeError(f"Domain adaptation ({self.adapt}) needs the target images: a "
                              "folder of images from where the model will be used")
        if self.target_val_dir and not self.target_dir:
            raise RecipeError("Labelled target images are scored alongside the target images "
                              "themselves: choose the target images (unlabelled) too")
        if self.adapt == "auto" and not self.target_val_dir:
            raise RecipeError("Auto adaptation chooses by the accuracy on labelled target "
                              "images: it needs a labelled target folder")
        if self.warmup_epochs > self.epochs:
            raise RecipeError("warm-up epochs must be between 0 and the number of epochs")
        if self.all_data:
            self._check_all_data()
        if self.head != "linear":
            self._check_classical_head()
        if self.head_epochs >= self.epochs and self.head_epochs > 0:
            raise RecipeError(
                f"head epochs ({self.head_epochs}) must be fewer than the epochs ({self.epochs}),"
                " so that the unfrozen stages train for at least one epoch")

    def _check_all_data(self) -> None:
        """With every image training there is no validation metric to act on."""
        acting = [label for label, on in (
            ("early stopping", self.early_stopping_patience is not None),
            ("reduce-on-plateau", self.reduce_lr_patience is not None),
            ("cross-validation folds", self.folds is not None),
            ("auto domain adaptation", self.adapt == "auto")) if on]
        if acting:
            need = "needs" if len(acting) == 1 else "need"
            raise RecipeError(f"Training on all images leaves no validation images, which "
                              f"{' and '.join(acting)} {need}: turn it off, or hold images out")

    def _check_classical_head(self) -> None:
        """A scikit-learn head fits once on features computed once, from the frozen backbone."""
        if tuple(self.train_stages) != HEAD_ONLY or self.unfreeze or self.head_epochs:
            raise RecipeError(f"the {self.head} head is fitted on the frozen backbone's features,"
                              " so only the head (classifier) can train")
        if self.augment != "none" or self.mixes():
            raise RecipeError(f"the {self.head} head is fitted once on each image's features, "
                              "so augmentation, MixUp and CutMix must be off")

    def mixes(self) -> bool:
        """True when training batches are mixed (MixUp or CutMix)."""
        return self.mixup_alpha > 0 or self.cutmix_alpha > 0

    def replace(self, **changes: Any) -> Recipe:
        return dataclasses.replace(self, **changes)

    def with_absolute_paths(self, base: str | Path = ".") -> Recipe:
        """Relative paths taken as relative to `base` (default: the working folder)."""
        changes = {name: os.path.abspath(os.path.join(base, os.path.expanduser(value)))
                   for name in PATH_FIELDS if (value := getattr(self, name)) is not None}
        return self.replace(**changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["unfreeze"] = list(self.unfreeze)
        d["train_stages"] = list(self.train_stages)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        """A recipe from its saved settings; older files (with `freeze`, `extra`) load too."""
        d = dict(d)
        if d.get("extra") is not None and d.get("extra") != {}:
            raise RecipeError("The recipe has settings this version of tlstudio does not know "
                              f"(extra: {', '.join(map(str, d['extra']))}); it may come from a "
                              "newer version. Remove them or update tlstudio.")
        d.pop("extra", None)  # older recipes always had an empty one
        known = {f.name for f in dataclasses.fields(cls)} | {"freeze"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise RecipeError(f"Unknown recipe setting(s): {', '.join(unknown)} (from a newer "
                              "version of tlstudio, or misspelt?)")
        if "data_dir" not in d:
            raise RecipeError("The recipe has no data_dir (the training folder)")
        if d.get("train_stages"):
            d.pop("freeze", None)  # older recipes: the checked stages won over the freeze spec
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
        """Write the recipe with absolute paths, so it replays from any folder."""
        atomic.write_text(path, self.with_absolute_paths().to_json())

    @classmethod
    def load(cls, path: str | Path) -> Recipe:
        """Read a recipe file; relative paths in it are relative to the file's folder."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise RecipeError(f"Cannot read recipe '{path}': {e.strerror}") from None
        recipe = cls.from_json(text)
        return recipe.replace(**_older_inputs(recipe, Path(path).parent)).with_absolute_paths(
            Path(path).parent)


def _older_inputs(recipe: Recipe, folder: Path) -> dict[str, str]:
    """Input paths of a recipe saved by an earlier version, which wrote them relative to the
    working folder: kept so when only that reading names something that exists."""
    older = {}
    for name in ("data_dir", "val_dir", "weights"):
        value = getattr(recipe, name)
        if value is not None and not os.path.isabs(value) and os.path.exists(value) and not (
                folder / value).exists():
            older[name] = os.path.abspath(value)
    return older


# all_data is not among them: a comparison scores each strategy on held-out folds.
COMPARE_FIELDS = frozenset(name for name, s, _ in settings_of(Recipe)) - STRATEGY_FIELDS - {
    "all_data"}
