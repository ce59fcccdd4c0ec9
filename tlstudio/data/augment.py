"""Training-time augmentation presets (none / light / strong) on torchvision.transforms.v2.

Every preset ends where `eval_transform` ends: float32 (3, image_size, image_size) in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image
from torchvision.transforms import InterpolationMode, v2

from tlstudio.data.transforms import eval_transform
from tlstudio.recipe import AUGMENTS as AUGMENT_PRESETS  # the names a recipe accepts

# Fraction of the image area a random crop keeps: mild, so small objects stay in view.
CROP_SCALE = (0.7, 1.0)
ROTATION_DEGREES = 15.0
SHIFT_FRACTION = 0.1  # of width and height
SHEAR_DEGREES = 10.0
ZOOM_RANGE = (0.9, 1.1)
COLOR_JITTER = dict(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05)


class AugmentTransform:
    """PIL RGB image -> a randomly augmented float32 tensor like `EvalTransform`'s output.

    A class, not a closure, so DataLoader workers started with spawn can pickle it.
    """

    def __init__(self, image_size: int, preset: str) -> None:
        if preset not in ("light", "strong"):
            raise ValueError(f"no augmenting preset {preset!r}; choose light or strong")
        self.image_size, self.preset = image_size, preset
        steps: list[Callable] = [
            v2.RandomResizedCrop(image_size, scale=CROP_SCALE,
                                 interpolation=InterpolationMode.BICUBIC, antialias=True),
            v2.RandomHorizontalFlip(),
        ]
        if preset == "strong":
            steps += [
                v2.RandomAffine(ROTATION_DEGREES, translate=(SHIFT_FRACTION, SHIFT_FRACTION),
                                scale=ZOOM_RANGE, shear=SHEAR_DEGREES,
                                interpolation=InterpolationMode.BILINEAR),
                v2.ColorJitter(**COLOR_JITTER),
            ]
        steps += [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
        self.pipeline = v2.Compose(steps)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.pipeline(image)


def train_transform(image_size: int, preset: str = "none") -> Callable[[Image.Image], torch.Tensor]:
    """The transform for training images: the eval recipe for "none", else an augmenting one."""
    if preset not in AUGMENT_PRESETS:
        raise ValueError(f"augment must be one of {', '.join(AUGMENT_PRESETS)}, not {preset!r}")
    if preset == "none":
        return eval_transform(image_size)
    return AugmentTransform(image_size, preset)


def describe_augmentation(preset: str) -> list[str]:
    """What a preset does to each training image, in words (validation images never change)."""
    if preset not in AUGMENT_PRESETS:
        raise ValueError(f"augment must be one of {', '.join(AUGMENT_PRESETS)}, not {preset!r}")
    if preset == "none":
        return ["no augmentation: training images are resized and center-cropped like "
                "validation images"]
    low, high = CROP_SCALE
    steps = [
        f"crop a random part covering {low:.0%}-{high:.0%} of the image (aspect 3:4 to 4:3) "
        "and resize it to the input size",
        "flip left-right half of the time",
    ]
    if preset == "strong":
        zlow, zhigh = ZOOM_RANGE
        steps += [
            f"rotate up to {ROTATION_DEGREES:g} degrees, shift up to {SHIFT_FRACTION:.0%}, "
            f"shear up to {SHEAR_DEGREES:g} degrees and zoom {zlow:g}-{zhigh:g}x",
            "vary brightness, contrast and saturation by up to "
            f"{COLOR_JITTER['brightness']:.0%} and hue by up to {COLOR_JITTER['hue']:g}",
        ]
    return steps
