"""The evaluation transform (resize, center-crop, to float tensor) and its plain-words recipe.

Mean/std normalization is not here: it lives inside the model, so exports carry it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

# Fraction of the resized image kept by the center crop (timm's crop_pct; 224 from 256).
CROP_FRACTION = 0.875


def resize_size(image_size: int) -> int:
    """Shorter-side length before the crop: round(image_size / CROP_FRACTION), half up."""
    return math.floor(image_size / CROP_FRACTION + 0.5)


class EvalTransform:
    """PIL RGB image -> float32 tensor (3, image_size, image_size) with values in [0, 1].

    A class, not a closure, so DataLoader workers started with spawn (Windows, macOS) can
    pickle it.
    """

    def __init__(self, image_size: int) -> None:
        if image_size < 1:
            raise ValueError(f"image_size must be positive, got {image_size}")
        self.image_size = image_size
        self.short_side = resize_size(image_size)
        self.decode_short_side = self.short_side  # what decoding may reduce a photo to

    def __call__(self, image: Image.Image) -> torch.Tensor:
        # Resizing the PIL image uses Pillow's bicubic filter, which other clients can match
        # exactly by using Pillow; tensor bicubic differs in the last bits.
        resized = F.resize(
            image, [self.short_side], interpolation=InterpolationMode.BICUBIC, antialias=True
        )
        width, height = resized.size
        size = self.image_size
        # Floor offsets (not torchvision's banker's rounding) so the recipe is easy to state.
        cropped = F.crop(resized, (height - size) // 2, (width - size) // 2, size, size)
        return F.to_dtype(F.to_image(cropped), torch.float32, scale=True)


def eval_transform(image_size: int) -> Callable[[Image.Image], torch.Tensor]:
    """The standard eval recipe: shorter side to image_size / CROP_FRACTION, center crop."""
    return EvalTransform(image_size)


def describe_eval_transform(image_size: int) -> list[str]:
    """The same steps as `eval_transform`, in words a client in another language can follow."""
    short_side = resize_size(image_size)
    return [
        "decode the file to 8-bit RGB and apply its EXIF orientation; composite any "
        "transparency onto white; scale 16-bit images by 255/65535",
        f"resize so the shorter side is {short_side} px, the longer side scaled by the same "
        "factor and rounded down, with bicubic interpolation (Pillow's BICUBIC, antialiased)",
        f"center-crop to {image_size}x{image_size}: top = floor((height - {image_size}) / 2), "
        f"left = floor((width - {image_size}) / 2)",
        "scale pixel values to [0, 1] float32 (divide by 255), channels first (NCHW)",
        "do not normalize by mean/std: the model does that itself",
    ]
