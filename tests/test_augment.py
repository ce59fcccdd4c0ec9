"""Augmentation presets and their individual controls: same output contract as the eval
transform, random per call, options that override presets, a deterministic preview grid, plain
errors for bad options, and the feature cache turned off (with a note) when anything augments."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tlstudio.cli import build_parser, recipe_from_args
from tlstudio.data import (
    PRESETS,
    augment_settings,
    describe_augmentation,
    eval_transform,
    preview_augmentations,
    train_transform,
)
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
    with pytest.raises(RecipeError):
        describe_augmentation("wild")
    with pytest.raises(RecipeError, match="augment must be one of"):
        Recipe(data_dir="d", augment="wild")


@pytest.mark.parametrize("augment, options", [("light", {}), ("none", {"vflip": True})])
def test_augmentation_turns_the_feature_cache_off_with_a_note(colour_data, tmp_path, augment,
                                                              options) -> None:
    events: list = []
    recipe = Recipe(data_dir=str(colour_data), out_dir=str(tmp_path / "run"), backbone="tiny_cnn",
                    image_size=16, epochs=1, batch_size=8, freeze="backbone", augment=augment,
                    augment_options=options)
    result = fit(recipe, callbacks=[events.append])
    [started] = [e for e in events if isinstance(e, FitStarted)]
    assert not started.feature_cache
    notes = [e.text for e in events if isinstance(e, LogMessage)]
    assert "Augmentation is on: the feature cache is off, every epoch runs the backbone" in notes
    assert len(result.epochs) == 1 and Path(result.run_dir, "model.safetensors").is_file()


def _top_bottom_image() -> Image.Image:
    """White top half, black bottom half: a vertical flip is visible at a glance."""
    pixels = np.zeros((32, 32, 3), dtype=np.uint8)
    pixels[:16] = 255
    return Image.fromarray(pixels)


def _top_is_white(view: Image.Image) -> bool:
    pixels = np.asarray(view, dtype=float)
    return pixels[: len(pixels) // 2].mean() > pixels[len(pixels) // 2 :].mean()


def test_every_preset_sets_every_control_and_options_override_them() -> None:
    assert set(PRESETS) == {"none", "light", "strong"}
    assert all(set(p) == set(PRESETS["none"]) for p in PRESETS.values())
    settings = augment_settings("light", {"vflip": True, "rotation": 20, "crop_scale": 1.0})
    assert settings == {**PRESETS["light"], "vflip": True, "rotation": 20.0, "crop_scale": 1.0}
    assert augment_settings("strong") == PRESETS["strong"]


def test_vflip_option_flips_some_previews_of_an_asymmetric_image() -> None:
    image = _top_bottom_image()
    plain = preview_augmentations(image, 16, "none", {}, n=8)
    assert all(_top_is_white(view) for view in plain)
    flipped = preview_augmentations(image, 16, "none", {"vflip": True}, n=8, seed=0)
    tops = [_top_is_white(view) for view in flipped]
    assert True in tops and False in tops  # some views upside down, some not


def test_preview_is_deterministic_per_seed_and_sized_for_the_model(image) -> None:
    options = {"rotation": 30, "color_jitter": 0.5}
    first = preview_augmentations(image, 20, "strong", options, n=5, seed=3)
    again = preview_augmentations(image, 20, "strong", options, n=5, seed=3)
    other = preview_augmentations(image, 20, "strong", options, n=5, seed=4)
    assert len(first) == 5 and all(v.size == (20, 20) and v.mode == "RGB" for v in first)
    pixels = lambda views: [np.asarray(v).tobytes() for v in views]  # noqa: E731
    assert pixels(first) == pixels(again) and pixels(first) != pixels(other)
    assert len(set(pixels(first))) == 5  # each view differs


@pytest.mark.parametrize("options, words", [
    ({"mirror": True}, "Unknown augmentation option 'mirror'"),
    ({"rotation": 400}, "rotation must be a number from 0 to 180"),
    ({"crop_scale": 0.0}, "crop_scale must be a number from 0.05 to 1"),
    ({"color_jitter": -0.1}, "color_jitter must be a number from 0 to 1"),
    ({"zoom": "big"}, "zoom must be a number"),
    ({"hflip": "yes"}, "hflip must be true or false"),
])
def test_bad_options_are_refused_in_plain_words(options, words) -> None:
    with pytest.raises(RecipeError, match=words):
        augment_settings("light", options)
    with pytest.raises(RecipeError, match=words):
        Recipe(data_dir="d", augment_options=options)


def test_description_follows_the_actual_settings() -> None:
    vflip_only = " ".join(describe_augmentation("none", {"vflip": True}))
    assert "upside down" in vflip_only and "left-right" not in vflip_only
    assert "center-crop like validation" in vflip_only
    calm = " ".join(describe_augmentation("strong", {"rotation": 0, "color_jitter": 0}))
    assert "rotate" not in calm and "brightness" not in calm and "shear up to 10" in calm
    assert "25%-100%" in " ".join(describe_augmentation("light", {"crop_scale": 0.25}))
    assert "no augmentation" in describe_augmentation("light", {"crop_scale": 1.0,
                                                                "hflip": False})[0]


def test_augmentation_flags_reach_the_recipe_and_merge_with_a_replayed_one(tmp_path) -> None:
    def recipe(*argv: str) -> Recipe:
        return recipe_from_args(build_parser().parse_args(["train", *argv]))

    parsed = recipe("data", "--augment", "light", "--aug-crop-scale", "0.5", "--no-hflip",
                    "--vflip", "--rotation", "10", "--shift", "0.05", "--shear", "5",
                    "--zoom", "0.2", "--color-jitter", "0.4")
    assert parsed.augment == "light" and parsed.augment_options == {
        "crop_scale": 0.5, "hflip": False, "vflip": True, "rotation": 10.0, "shift": 0.05,
        "shear": 5.0, "zoom": 0.2, "color_jitter": 0.4}
    assert recipe("data").augment_options == {}
    saved = tmp_path / "recipe.json"
    parsed.save(saved)
    replayed = recipe("--recipe", str(saved), "--rotation", "30", "--hflip")
    assert replayed.augment_options == {**parsed.augment_options, "rotation": 30.0,
                                        "hflip": True}
    assert Recipe.load(saved) == parsed
