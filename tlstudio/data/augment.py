"""Training-time augmentation: presets (none / light / strong) of individual controls that a
recipe's ``augment_options`` override, built into a torchvision.transforms.v2 pipeline.

Every pipeline ends where `eval_transform` ends: float32 (3, image_size, image_size) in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from PIL import Image
from torchvision.transforms import InterpolationMode, v2
from torchvision.transforms.v2 import functional as F

from tlstudio.data.transforms import eval_transform, resize_size
from tlstudio.errors import RecipeError
from tlstudio.recipe import AUGMENT_OPTIONS
from tlstudio.settings import check_value

# The controls, each with what "off" means. Every preset sets all of them.
PRESETS: dict[str, dict[str, Any]] = {
    "none": dict(crop_scale=1.0, hflip=False, vflip=False, rotation=0.0, shift=0.0, shear=0.0,
                 zoom=0.0, color_jitter=0.0),
    # A mild crop (small objects stay in view) and left-right flips.
    "light": dict(crop_scale=0.7, hflip=True, vflip=False, rotation=0.0, shift=0.0, shear=0.0,
                  zoom=0.0, color_jitter=0.0),
    "strong": dict(crop_scale=0.7, hflip=True, vflip=False, rotation=15.0, shift=0.1, shear=10.0,
                   zoom=0.1, color_jitter=0.3),
}
AUGMENT_PRESETS = tuple(PRESETS)  # the names a recipe accepts (recipe.AUGMENTS)
FLAGS = tuple(name for name, s in AUGMENT_OPTIONS.items() if s.kind == "bool")
HUE_SHARE = 1 / 6  # hue jitter is this share of the strength (0.3 -> 0.05): hue shifts are loud


def augment_settings(preset: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The preset's controls with ``options`` overriding some of them, checked.

    Raises RecipeError in plain words for an unknown preset or control, or a value out of range.
    """
    if preset not in PRESETS:
        raise RecipeError(f"augment must be one of {', '.join(PRESETS)}, not {preset!r}")
    settings = dict(PRESETS[preset])
    for name, value in (options or {}).items():
        settings[name] = _checked_option(name, value)
    return settings


def _checked_option(name: str, value: Any) -> Any:
    if name in FLAGS:
        if not isinstance(value, bool):
            raise RecipeError(f"augmentation option {name} must be true or false, not {value!r}")
        return value
    if name not in AUGMENT_OPTIONS:
        raise RecipeError(f"Unknown augmentation option {name!r}; the options are "
                          f"{', '.join(PRESETS['none'])}")
    s = AUGMENT_OPTIONS[name]
    if check_value(name, s, value):
        raise RecipeError(f"augmentation option {name} must be {s.values_text()} ({s.help}), "
                          f"not {value!r}")
    return float(value)


def augments(settings: Mapping[str, Any]) -> bool:
    """True when the settings change training images at all (differ from the "none" preset)."""
    return dict(settings) != PRESETS["none"]


class AugmentTransform:
    """PIL RGB image -> a randomly augmented float32 tensor like `EvalTransform`'s output.

    A class, not a closure, so DataLoader workers started with spawn can pickle it.
    """

    random = True  # data.loader seeds it per image, the same with or without workers

    def __init__(self, image_size: int, preset: str = "light",
                 options: Mapping[str, Any] | None = None) -> None:
        self.image_size, self.preset = image_size, preset
        self.settings = augment_settings(preset, options)
        self.pipeline = augment_pipeline(image_size, self.settings)
        self.decode_short_side = decode_short_side(image_size, self.settings)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.pipeline(image)


def decode_short_side(image_size: int, settings: Mapping[str, Any]) -> int:
    """The shorter side a decoded (or cached) image needs so that the smallest random crop
    (at its narrowest aspect, 3:4) and the largest zoom are never upsampled."""
    side = resize_size(image_size)
    if settings["crop_scale"] < 1.0:
        side = max(side, math.ceil(image_size * math.sqrt(4 / 3 / settings["crop_scale"])))
    return math.ceil(side * (1 + settings["zoom"]))


def augment_pipeline(image_size: int, settings: Mapping[str, Any]) -> v2.Compose:
    """The v2 steps for checked settings: crop, flips, affine, colour, then to float."""
    s = settings
    if s["crop_scale"] < 1.0:
        steps: list[Callable] = [v2.RandomResizedCrop(
            image_size, scale=(s["crop_scale"], 1.0), interpolation=InterpolationMode.BICUBIC,
            antialias=True)]
    else:  # the eval framing, so only the chosen controls differ from validation images
        steps = [v2.Resize(resize_size(image_size), interpolation=InterpolationMode.BICUBIC,
                           antialias=True), v2.CenterCrop(image_size)]
    if s["hflip"]:
        steps.append(v2.RandomHorizontalFlip())
    if s["vflip"]:
        steps.append(v2.RandomVerticalFlip())
    if s["rotation"] or s["shift"] or s["shear"] or s["zoom"]:
        steps.append(v2.RandomAffine(
            s["rotation"], translate=(s["shift"], s["shift"]) if s["shift"] else None,
            scale=(1 - s["zoom"], 1 + s["zoom"]) if s["zoom"] else None,
            shear=s["shear"] or None, interpolation=InterpolationMode.BILINEAR))
    if s["color_jitter"]:
        strength = s["color_jitter"]
        steps.append(v2.ColorJitter(brightness=strength, contrast=strength,
                                    saturation=strength, hue=strength * HUE_SHARE))
    steps += [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    return v2.Compose(steps)


def train_transform(image_size: int, preset: str = "none",
                    options: Mapping[str, Any] | None = None
                    ) -> Callable[[Image.Image], torch.Tensor]:
    """The transform for training images: the eval transform when nothing augments."""
    if not augments(augment_settings(preset, options)):
        return eval_transform(image_size)
    return AugmentTransform(image_size, preset, options)


def preview_augmentations(image: Image.Image, image_size: int, preset: str = "light",
                          options: Mapping[str, Any] | None = None, n: int = 8,
                          seed: int = 0) -> list[Image.Image]:
    """``n`` augmented views of ``image`` as the model will see them (image_size square).

    The same seed gives the same views. The global torch RNG is restored afterwards, but a
    training run in another thread drawing at the same moment would see this seed's numbers.
    """
    transform = train_transform(image_size, preset, options)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return [F.to_pil_image(transform(image.convert("RGB"))) for _ in range(n)]


def describe_augmentation(preset: str, options: Mapping[str, Any] | None = None) -> list[str]:
    """What the settings do to each training image, in words (validation images never change)."""
    s = augment_settings(preset, options)
    if not augments(s):
        return ["no augmentation: training images are resized and center-cropped like "
                "validation images"]
    if s["crop_scale"] < 1.0:
        steps = [f"crop a random part covering {s['crop_scale']:.0%}-100% of the image "
                 "(aspect 3:4 to 4:3) and resize it to the input size"]
    else:
        steps = ["resize and center-crop like validation images"]
    flips = [name for name, on in (("left-right", s["hflip"]), ("upside down", s["vflip"])) if on]
    steps += [f"flip {name} half of the time" for name in flips]
    affine = []
    if s["rotation"]:
        affine.append(f"rotate up to {s['rotation']:g} degrees")
    if s["shift"]:
        affine.append(f"shift up to {s['shift']:.0%}")
    if s["shear"]:
        affine.append(f"shear up to {s['shear']:g} degrees")
    if s["zoom"]:
        affine.append(f"zoom {1 - s['zoom']:g}-{1 + s['zoom']:g}x")
    if affine:
        steps.append(", ".join(affine))
    if s["color_jitter"]:
        steps.append(f"vary brightness, contrast and saturation by up to "
                     f"{s['color_jitter']:.0%} and hue by up to "
                     f"{s['color_jitter'] * HUE_SHARE:.2g}")
    return steps
