"""Augmentation presets: same output contract as the eval transform, random per call, and the
feature cache turned off (with a note) when they are on."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tlstudio.data import describe_augmentation, eval_transform, train_transform
from tlstudio.errors import RecipeError
from tlstudio.recipe import Recipe
from tlstudio.training import FitStarted, LogMessage, fit


@pytest.fixture
def image() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, size=(24, 40, 3), dtype=np.uint8))


@pytest.mark.parametrize("preset", ["light", "strong"])
def test_presets_match_the_eval_output_and_vary_per_call(image, preset) -> None:
    reference = eval_transform(16)(image)
    augment = train_transform(16, preset)
    outputs = [augment(image) for _ in range(4)]
    for out in outputs:
        assert out.shape == reference.shape == (3, 16, 16)
        assert out.dtype == torch.float32 and 0.0 <= out.min() and out.max() <= 1.0
    assert any(not torch.equal(outputs[0], out) for out in outputs[1:])
    assert pickle.loads(pickle.dumps(augment))(image).shape == (3, 16, 16)  # spawn workers


def test_none_is_the_deterministic_eval_transform(image) -> None:
    none = train_transform(16, "none")
    assert torch.equal(none(image), none(image))
    assert torch.equal(none(image), eval_transform(16)(image))


def test_presets_are_described_in_words() -> None:
    light, strong = describe_augmentation("light"), describe_augmentation("strong")
    assert describe_augmentation("none") and len(strong) > len(light)
    assert "flip" in " ".join(light) and "rotate" in " ".join(strong)
    with pytest.raises(ValueError):
        describe_augmentation("wild")
    with pytest.raises(RecipeError, match="augment must be one of"):
        Recipe(data_dir="d", augment="wild")


def test_augmentation_turns_the_feature_cache_off_with_a_note(colour_data, tmp_path) -> None:
    events: list = []
    recipe = Recipe(data_dir=str(colour_data), out_dir=str(tmp_path / "run"), backbone="tiny_cnn",
                    image_size=16, epochs=1, batch_size=8, freeze="backbone", augment="light")
    result = fit(recipe, callbacks=[events.append])
    [started] = [e for e in events if isinstance(e, FitStarted)]
    assert not started.feature_cache
    notes = [e.text for e in events if isinstance(e, LogMessage)]
    assert "Augmentation is on: the feature cache is off, every epoch runs the backbone" in notes
    assert len(result.epochs) == 1 and Path(result.run_dir, "model.safetensors").is_file()
