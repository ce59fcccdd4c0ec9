"""MixUp / CutMix: soft targets per training batch, the soft-target loss, train accuracy against
the dominant class, a run to the end, and every new data-side recipe field round-tripping."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torchvision.transforms import v2

from tlstudio.cli import build_parser, recipe_from_args
from tlstudio.errors import RecipeError
from tlstudio.recipe import Recipe
from tlstudio.training import EpochEnded, FitStarted, LogMessage, RunControl, fit
from tlstudio.training.data_controls import mixed_batches
from tlstudio.training.loops import train_one_epoch
from tlstudio.training.mixing import batch_mixing, hard_labels
from tlstudio.training.optim import build_loss


def _batch(n: int = 8, classes: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return torch.rand(n, 3, 16, 16), torch.arange(n) % classes


def test_no_mixing_unless_asked() -> None:
    assert batch_mixing(0.0, 0.0, 3) is None
    batches = [_batch()]
    assert mixed_batches(batches, Recipe(data_dir="d"), 3) is batches
    assert isinstance(batch_mixing(0.2, 1.0, 3), v2.RandomChoice)


@pytest.mark.parametrize("mixup, cutmix", [(0.4, 0.0), (0.0, 1.0), (0.4, 1.0)])
def test_mixing_gives_soft_targets_that_sum_to_one(mixup, cutmix) -> None:
    x, y = _batch()
    mixed = mixed_batches([(x, y)], Recipe(data_dir="d", mixup_alpha=mixup,
                                           cutmix_alpha=cutmix), 3)
    assert len(mixed) == 1
    [(mx, targets)] = list(mixed)
    assert mx.shape == x.shape and targets.shape == (8, 3)
    assert torch.allclose(targets.sum(1), torch.ones(8))
    assert not torch.equal(mx, x)  # the images really were mixed
    # each image is mixed with the batch's next one (torchvision rolls by one): the dominant
    # class of each soft target is one of the two images' labels
    dominant = hard_labels(targets)
    assert ((dominant == y) | (dominant == y.roll(1, 0))).all()
    assert torch.equal(hard_labels(y), y)


def test_train_accuracy_counts_the_dominant_class_of_soft_targets() -> None:
    model = nn.Linear(3, 3)
    with torch.no_grad():  # logits = inputs, so each prediction is chosen by hand
        model.weight.copy_(torch.eye(3))
        model.bias.zero_()
    x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    targets = torch.tensor([[0.7, 0.3, 0.0], [0.6, 0.4, 0.0], [0.0, 0.45, 0.55],
                            [0.2, 0.0, 0.8]])  # dominant: 0, 0, 2, 2 -> 2 of 4 predicted
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    stats = train_one_epoch(model, [(x, targets)], optimizer, nn.CrossEntropyLoss(),
                            torch.device("cpu"), 1, lambda event: None, RunControl())
    assert stats.accuracy == 0.5 and math.isfinite(stats.loss)


@pytest.mark.parametrize("balance", ["none", "loss"])
def test_soft_target_loss_is_the_manual_formula(balance) -> None:
    counts = [6, 3, 1]
    recipe = Recipe(data_dir="d", label_smoothing=0.1, balance=balance)
    loss_fn = build_loss(recipe, counts)
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    targets = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.25, 0.75]])
    weights = torch.tensor([10 / 18, 10 / 9, 10 / 3]) if balance == "loss" else torch.ones(3)
    smoothed = 0.9 * targets + 0.1 / 3
    per_image = -(weights * smoothed * logits.log_softmax(1)).sum(1)
    assert torch.allclose(loss_fn(logits, targets), per_image.mean())


@pytest.mark.parametrize("mixup, cutmix", [(0.4, 0.0), (0.2, 1.0)])
def test_a_mixing_run_trains_to_the_end(colour_data, tmp_path, mixup, cutmix) -> None:
    events: list = []
    recipe = Recipe(data_dir=str(colour_data), out_dir=str(tmp_path / "run"), backbone="tiny_cnn",
                    image_size=16, epochs=2, batch_size=8, freeze="backbone",
                    mixup_alpha=mixup, cutmix_alpha=cutmix, label_smoothing=0.1)
    result = fit(recipe, callbacks=[events.append])
    assert not result.stopped and len(result.epochs) == 2
    [started] = [e for e in events if isinstance(e, FitStarted)]
    assert not started.feature_cache  # mixing needs images, not cached features
    notes = [e.text for e in events if isinstance(e, LogMessage)]
    assert "MixUp/CutMix is on: the feature cache is off, every epoch runs the backbone" in notes
    for epoch in (e for e in events if isinstance(e, EpochEnded)):
        assert math.isfinite(epoch.train_loss) and math.isfinite(epoch.val_loss)
        assert 0.0 <= epoch.train_accuracy <= 1.0


def test_every_new_data_field_round_trips_through_json(tmp_path) -> None:
    recipe = Recipe(data_dir="d", augment="strong",
                    augment_options={"vflip": True, "rotation": 25, "crop_scale": 0.5},
                    mixup_alpha=0.2, cutmix_alpha=1.0, balance="sampler")
    assert Recipe.from_json(recipe.to_json()) == recipe
    recipe.save(tmp_path / "recipe.json")
    assert Recipe.load(tmp_path / "recipe.json") == recipe.with_absolute_paths()
    assert Recipe(data_dir="d").to_dict() | {"mixup_alpha": 0.0, "cutmix_alpha": 0.0,
                                              "balance": "none", "augment_options": {}} \
        == Recipe(data_dir="d").to_dict()  # defaults keep the old behaviour


def test_mixing_flags_reach_the_recipe_and_bad_strengths_are_refused() -> None:
    args = build_parser().parse_args(["train", "data", "--mixup", "0.2", "--cutmix", "1"])
    recipe = recipe_from_args(args)
    assert (recipe.mixup_alpha, recipe.cutmix_alpha) == (0.2, 1.0) and recipe.mixes()
    with pytest.raises(RecipeError, match="MixUp strength must be 0 .off. or a positive"):
        Recipe(data_dir="d", mixup_alpha=-1)
    with pytest.raises(RecipeError, match="CutMix strength"):
        Recipe(data_dir="d", cutmix_alpha=float("nan"))
