"""A run folder made without training, for the tests of what reads runs (export, inference,
serving, calibration): a tiny model with clearly non-uniform probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tlstudio.data.images import load_rgb
from tlstudio.data.transforms import eval_transform
from tlstudio.models.classifier import build_classifier
from tlstudio.runs import ModelInfo, save_model

CLASSES = ("red", "green", "blue")


def make_run(run_dir: Path, data_dir: Path, backbone: str = "tiny_cnn",
             classes: tuple[str, ...] = CLASSES) -> Path:
    """A run folder whose model gives clearly non-uniform probabilities."""
    torch.manual_seed(0)
    built = build_classifier(backbone, len(classes), pretrained=False)
    with torch.no_grad():
        built.model.head.weight.normal_(0.0, 3.0)
        built.model.head.bias.normal_(0.0, 1.0)
    spec = built.spec
    recipe = {"data_dir": str(data_dir), "backbone": backbone}
    info = ModelInfo(backbone, classes, spec.input_size, spec.mean, spec.std, recipe)
    save_model(run_dir, built.model.eval(), info)
    return run_dir


def image_batch(paths: list[Path], size: int) -> np.ndarray:
    transform = eval_transform(size)
    return torch.stack([transform(load_rgb(p)) for p in paths]).numpy()
