"""Class imbalance: detected and described, logged at the start of a run, and evened out by a
weighted sampler (image batches and cached features alike) or a class-weighted loss."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from imagefolders import write_class_folders

from tlstudio.cli import build_parser, recipe_from_args
from tlstudio.data import Imbalance, class_imbalance
from tlstudio.data.imbalance import balanced_sampler, class_weights
from tlstudio.errors import RecipeError, Remedy
from tlstudio.failures import FrontEnd, with_remedies
from tlstudio.recipe import Recipe
from tlstudio.training import FitStarted, LogMessage, fit
from tlstudio.training.feature_cache import FeatureBatches
from tlstudio.training.optim import build_loss


def test_imbalance_is_the_ratio_of_the_largest_class_to_the_smallest() -> None:
    uneven = class_imbalance({"cats": 30, "dogs": 10, "owls": 5})
    assert uneven == Imbalance(6.0, "cats", "owls", True, (("cats", 30), ("dogs", 10),
                                                           ("owls", 5)))
    text = uneven.describe()
    assert "'cats' has 30 images, 'owls' has 5 (6.0 to 1)" in text
    assert "--" not in text and uneven.remedies() == (Remedy.BALANCE,)
    assert "consider --balance sampler or --balance loss" in with_remedies(
        text, uneven.remedies(), FrontEnd.CLI)
    assert uneven.remedies("loss") == () and class_imbalance({"a": 5, "b": 4}).remedies() == ()
    assert "balancing with a class-weighted loss" in uneven.describe("loss")
    even = class_imbalance({"cats": 10, "dogs": 8})
    assert not even.imbalanced and even.ratio == 1.25
    assert even.describe().startswith("Classes are balanced enough")
    assert class_imbalance({"a": 9, "b": 3}).imbalanced  # exactly 3 to 1 counts


def test_class_weights_are_total_over_classes_times_count() -> None:
    counts = [30, 10, 5]
    expected = torch.tensor([45 / (3 * 30), 45 / (3 * 10), 45 / (3 * 5)])
    assert torch.allclose(class_weights(counts), expected)
    loss = build_loss(Recipe(data_dir="d", balance="loss"), counts)
    assert torch.allclose(loss.weight, expected)
    assert build_loss(Recipe(data_dir="d"), counts).weight is None


def test_sampler_draws_a_minority_class_far_above_its_share() -> None:
    labels = [0] * 90 + [1] * 10
    draws = list(balanced_sampler(labels, 2, torch.Generator().manual_seed(0)))
    assert len(draws) == 100  # the epoch keeps its size
    minority = Counter(labels[i] for i in draws)[1]
    assert minority > 35  # about half the draws, against a 10% share
    again = list(balanced_sampler(labels, 2, torch.Generator().manual_seed(0)))
    assert again == draws  # the recipe's seed fixes the draws


def test_cached_feature_batches_balance_the_same_way() -> None:
    labels = torch.tensor([0] * 90 + [1] * 10)
    features = labels.float().unsqueeze(1)
    weights = class_weights([90, 10]).double()[labels]
    batches = FeatureBatches(features, labels, 25, torch.Generator().manual_seed(0), weights)
    drawn = torch.cat([y for _, y in batches])
    assert len(batches) == 4 and len(drawn) == 100 and int((drawn == 1).sum()) > 35


@pytest.fixture
def uneven_data(tmp_path):
    return write_class_folders(tmp_path / "data", {"common": 20, "rare": 4})


def _fit(data, out, **settings) -> list:
    events: list = []
    fit(Recipe(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", image_size=16,
               epochs=1, batch_size=8, val_split=0.25, **settings), callbacks=[events.append])
    return events


def test_a_run_warns_about_imbalance_and_suggests_balancing(uneven_data, tmp_path) -> None:
    events = _fit(uneven_data, tmp_path / "run", freeze="none")
    warnings = [e for e in events if isinstance(e, LogMessage) and e.level == "warning"]
    assert any("imbalanced" in e.text and e.remedies == (Remedy.BALANCE,) for e in warnings)


@pytest.mark.parametrize("balance, freeze", [("sampler", "backbone"), ("sampler", "none"),
                                             ("loss", "none")])
def test_balanced_runs_train_and_say_how(uneven_data, tmp_path, balance, freeze) -> None:
    events = _fit(uneven_data, tmp_path / "run", freeze=freeze, balance=balance)
    [started] = [e for e in events if isinstance(e, FitStarted)]
    assert started.feature_cache == (freeze == "backbone")  # balancing keeps the cache
    notes = [e for e in events if isinstance(e, LogMessage) and "imbalanced" in e.text]
    assert notes and notes[0].level == "info" and "balancing with" in notes[0].text


def test_balance_flag_reaches_the_recipe_and_bad_values_are_refused() -> None:
    args = build_parser().parse_args(["train", "data", "--balance", "sampler"])
    assert recipe_from_args(args).balance == "sampler"
    with pytest.raises(RecipeError, match="balance must be one of none, sampler, loss"):
        Recipe(data_dir="d", balance="oversample")
