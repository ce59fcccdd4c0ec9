"""Grad-CAM: which parts of an image drove a class score, from the gradients at the last
convolutional layer (Selvaraju et al., 2017), and a heat-map overlay for display.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torchvision.transforms.v2 import functional as TF

from tlstudio.data import eval_transform
from tlstudio.errors import SaliencyError


def last_conv_layer(model: nn.Module) -> nn.Conv2d:
    """The last nn.Conv2d of the model's backbone (or of the model if it has none)."""
    found = None
    for module in getattr(model, "backbone", model).modules():
        if isinstance(module, nn.Conv2d):
            found = module
    if found is None:
        raise SaliencyError("The model has no convolutional layer for Grad-CAM")
    return found


def grad_cam(
    model: nn.Module,
    image: torch.Tensor,
    class_index: int | None = None,
    layer: nn.Module | None = None,
) -> np.ndarray:
    """Grad-CAM of one [0, 1] RGB image (3xHxW or 1x3xHxW) for `class_index` (default: the
    predicted class): an HxW float32 map in [0, 1], 1 where the evidence is strongest.
    """
    layer = layer or last_conv_layer(model)
    batch = (image if image.dim() == 4 else image.unsqueeze(0)).detach().float()
    # The input asks for a gradient so one flows even through a fully frozen backbone.
    batch = batch.clone().requires_grad_(True)
    captured: dict[str, torch.Tensor] = {}

    def keep(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        captured["activation"] = output
        output.register_hook(lambda grad: captured.__setitem__("gradient", grad))

    was_training = model.training
    handle = layer.register_forward_hook(keep)
    try:
        model.eval()  # BatchNorm on a single image needs its running statistics
        with torch.enable_grad():
            logits = model(batch)
            target = int(logits[0].argmax()) if class_index is None else class_index
            model.zero_grad(set_to_none=True)
            logits[0, target].backward()
    finally:
        handle.remove()
        model.train(was_training)
    activation, gradient = captured["activation"].detach(), captured["gradient"].detach()
    weights = gradient.mean(dim=(2, 3), keepdim=True)  # one weight per channel
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=batch.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    peak = float(cam.max())
    return (cam / peak if peak > 0 else torch.zeros_like(cam)).numpy().astype(np.float32)


def jet(values: np.ndarray) -> np.ndarray:
    """A jet-like colormap: [0, 1] -> uint8 RGB, blue (low) through green to red (high)."""
    v = np.clip(values, 0.0, 1.0)[..., None]
    centres = np.array([0.75, 0.5, 0.25])  # where red, green and blue peak
    rgb = np.clip(1.5 - np.abs(4.0 * (v - centres)), 0.0, 1.0)
    return (rgb * 255).round().astype(np.uint8)


def overlay(image: Image.Image, cam: np.ndarray, alpha: float = 0.6) -> Image.Image:
    """The image with the CAM, stretched to its size, on top as a heat map.

    The heat map's opacity follows the CAM (up to `alpha` at its peak), so regions without
    evidence keep the picture as it is instead of turning it blue.
    """
    rgb = image.convert("RGB")
    resized = np.asarray(Image.fromarray(np.asarray(cam, dtype=np.float32)).resize(
        rgb.size, Image.Resampling.BILINEAR))
    heat = jet(resized).astype(np.float32)
    weight = (alpha * np.sqrt(np.clip(resized, 0.0, 1.0)))[..., None]
    blended = (1.0 - weight) * np.asarray(rgb, dtype=np.float32) + weight * heat
    return Image.fromarray(blended.round().astype(np.uint8))


def saliency_views(
    model: nn.Module, image_size: int, image: Image.Image, class_index: int, view_size: int
) -> tuple[Image.Image, Image.Image]:
    """The picture as the model saw it (its resize-and-crop, shown at `view_size` px) and the
    same picture with the Grad-CAM of `class_index` blended on top."""
    # The same resize-and-crop at a larger size shows the region the model saw.
    to_view = eval_transform(max(view_size, image_size))
    view = TF.to_pil_image(to_view(image)).resize((view_size, view_size))
    cam = grad_cam(model, eval_transform(image_size)(image), class_index)
    return view, overlay(view, cam)
