"""The bundled ImageNet weights are real: they classify real photos and beat random weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_sample_image
from sklearn.linear_model import LogisticRegression

from tlstudio.data import eval_transform
from tlstudio.models import build_classifier
from tlstudio.models.classifier import load_imagenet_model

# ImageNet class index of scikit-learn's china.jpg, a photo of a Chinese palace.
PALACE = 698


@pytest.mark.parametrize(
    "name", ["tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"]
)
def test_bundled_weights_classify_a_real_photo(name: str) -> None:
    model, spec = load_imagenet_model(name)
    photo = eval_transform(spec.input_size)(Image.fromarray(load_sample_image("china.jpg")))
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    with torch.inference_mode():
        probabilities = model((photo[None] - mean) / std).softmax(1)[0]
    assert int(probabilities.argmax()) == PALACE
    assert float(probabilities[PALACE]) > 0.2


def _region_patches(rng: np.random.Generator, per_region: int, crop: int = 96):
    """Grey crops from a 2x3 grid over each real photo; the label is the region (12 classes).

    Grey so that colour alone cannot tell the regions apart: texture and shape must.
    """
    xs, ys = [], []
    for photo_index, name in enumerate(("china.jpg", "flower.jpg")):
        photo = load_sample_image(name).astype(np.float32).mean(2) / 255
        height, width = photo.shape
        for r in range(2):
            for c in range(3):
                top, left, h, w = r * height // 2, c * width // 3, height // 2, width // 3
                for _ in range(per_region):
                    y = rng.integers(top, top + h - crop)
                    x = rng.integers(left, left + w - crop)
                    patch = photo[y : y + crop, x : x + crop]
                    xs.append(np.repeat(patch[None], 3, 0))
                    ys.append(photo_index * 6 + r * 3 + c)
    order = rng.permutation(len(ys))
    return torch.tensor(np.stack(xs))[order], np.array(ys)[order]


def test_pretrained_features_beat_random_weights_on_a_real_image_linear_probe() -> None:
    images, labels = _region_patches(np.random.default_rng(0), per_region=25)
    n_train = 200
    scores = {}
    for pretrained in (True, False):
        torch.manual_seed(0)
        model = build_classifier("tf_efficientnet_lite0", 2, pretrained=pretrained).model.eval()
        with torch.inference_mode():
            feats = model.features(images).numpy()
        feats = (feats - feats[:n_train].mean(0)) / (feats[:n_train].std(0) + 1e-6)
        probe = LogisticRegression(max_iter=3000).fit(feats[:n_train], labels[:n_train])
        scores[pretrained] = probe.score(feats[n_train:], labels[n_train:])
    assert scores[True] >= 0.8, scores
    assert scores[True] >= scores[False] + 0.1, scores
