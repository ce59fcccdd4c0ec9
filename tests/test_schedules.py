"""Optimizers, learning-rate schedules with warm-up, label smoothing, and the recipe and CLI
fields that carry them (and the other training controls)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest
import torch

from tlstudio.cli import build_parser, recipe_from_args
from tlstudio.errors import RecipeError
from tlstudio.recipe import Recipe
from tlstudio.training import BatchEnded, fit
from tlstudio.training.optim import build_optimizer

LR = 0.01


def _batches(data: Path, out: Path, **changes) -> list[BatchEnded]:
    """Head-only training on cached features: 18 images, 6 a batch, 3 batches an epoch."""
    base = dict(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", image_size=16,
                epochs=4, batch_size=6, lr=LR, val_split=0.25, freeze="backbone")
    events: list = []
    fit(Recipe(**{**base, **changes}), callbacks=[events.append])
    return [e for e in events if isinstance(e, BatchEnded)]


def _lrs(data: Path, out: Path, **changes) -> list[float]:
    return [e.lr for e in _batches(data, out, **changes)]


def test_constant_is_the_default(colour_data, tmp_path) -> None:
    assert _lrs(colour_data, tmp_path / "run") == [pytest.approx(LR)] * 12


def test_warmup_rises_to_the_peak_then_the_schedule_takes_over(colour_data, tmp_path) -> None:
    lrs = _lrs(colour_data, tmp_path / "run", warmup_epochs=1)
    assert lrs[0] < lrs[1] < lrs[2] < LR
    assert lrs[3:] == [pytest.approx(LR)] * 9


def test_cosine_falls_from_the_peak_to_near_zero(colour_data, tmp_path) -> None:
    lrs = _lrs(colour_data, tmp_path / "run", schedule="cosine")
    assert lrs[0] == pytest.approx(LR)
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))
    assert lrs[-1] < 0.05 * LR


def test_step_drops_tenfold_each_third(colour_data, tmp_path) -> None:
    lrs = _lrs(colour_data, tmp_path / "run", schedule="step", epochs=3)  # 9 batches
    assert lrs == pytest.approx([LR] * 3 + [LR / 10] * 3 + [LR / 100] * 3)


def test_onecycle_rises_to_the_peak_inside_the_run_and_anneals(colour_data, tmp_path) -> None:
    lrs = _lrs(colour_data, tmp_path / "run", schedule="onecycle")
    peak = max(range(len(lrs)), key=lrs.__getitem__)
    assert 0 < peak < len(lrs) - 1 and lrs[peak] == pytest.approx(LR, rel=0.1)
    assert lrs[0] < LR / 10 and lrs[-1] < LR / 10


def test_label_smoothing_changes_the_training_loss(colour_data, tmp_path) -> None:
    plain = _batches(colour_data, tmp_path / "plain", epochs=1)
    smooth = _batches(colour_data, tmp_path / "smooth", epochs=1, label_smoothing=0.2)
    assert smooth[0].loss != pytest.approx(plain[0].loss)


@pytest.mark.parametrize(("name", "kind"), [("adamw", torch.optim.AdamW),
                                            ("adam", torch.optim.Adam),
                                            ("sgd", torch.optim.SGD)])
def test_optimizers(name, kind) -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = build_optimizer(params, Recipe(data_dir="d", optimizer=name, weight_decay=0.01))
    assert type(optimizer) is kind and optimizer.defaults["weight_decay"] == 0.01
    if name == "sgd":
        assert optimizer.defaults["momentum"] == 0.9


def test_sgd_with_cosine_trains(colour_data, tmp_path) -> None:
    batches = _batches(colour_data, tmp_path / "run", optimizer="sgd", schedule="cosine",
                       warmup_epochs=0.5, lr=0.05)
    assert all(math.isfinite(b.loss) for b in batches)


EVERY_CONTROL = dict(
    data_dir="d", unfreeze=("head.*",), train_stages=("s1",), optimizer="sgd",
    schedule="onecycle", warmup_epochs=1.5, label_smoothing=0.1, weight_decay=0.05,
    augment="strong", monitor="val_accuracy", keep_best=False, early_stopping_patience=3,
    reduce_lr_patience=2, reduce_lr_factor=0.5,
)


def test_recipe_round_trips_every_training_control() -> None:
    recipe = Recipe(**EVERY_CONTROL)
    again = Recipe.from_json(recipe.to_json())
    assert again == recipe and isinstance(again.unfreeze, tuple)
    assert Recipe.from_dict({"data_dir": "d"}) == Recipe(data_dir="d")  # older recipes load


@pytest.mark.parametrize("bad", [dict(optimizer="lion"), dict(schedule="linear"),
                                 dict(monitor="train_loss"), dict(warmup_epochs=-1),
                                 dict(warmup_epochs=9, epochs=2), dict(label_smoothing=1.0),
                                 dict(early_stopping_patience=0), dict(reduce_lr_factor=1.5),
                                 dict(weight_decay=-0.1)])
def test_invalid_controls_are_refused(bad) -> None:
    with pytest.raises(RecipeError):
        Recipe(data_dir="d", **bad)


def test_cli_flags_reach_the_recipe() -> None:
    args: argparse.Namespace = build_parser().parse_args([
        "train", "d", "--optimizer", "sgd", "--schedule", "onecycle", "--warmup-epochs", "1.5",
        "--label-smoothing", "0.1", "--weight-decay", "0.05", "--augment", "strong",
        "--monitor", "val_accuracy", "--keep-last", "--early-stopping", "3", "--reduce-lr", "2",
        "--reduce-lr-factor", "0.5", "--unfreeze", "head.*", "--out", "runs/x",
    ])
    recipe = recipe_from_args(args)
    expected = {k: v for k, v in EVERY_CONTROL.items() if k != "train_stages"}
    assert recipe == Recipe(**expected, out_dir="runs/x").with_absolute_paths()
