"""Runs side by side (what the window's runs comparison shows): each run's curves and metrics
read from its folder, and only the recipe settings in which the runs differ."""

from __future__ import annotations

from pathlib import Path

import pytest
from imagefolders import write_class_folders
from sklearn.metrics import f1_score

from tlstudio.ensemble import build_ensemble, class_mismatch
from tlstudio.errors import EvaluationError
from tlstudio.evaluation import compare_runs
from tlstudio.evaluation.run_comparison import NO_RECIPE
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder, list_runs, load_predictions, read_run_info
from tlstudio.training import fit


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("compare-runs")
    data = write_class_folders(base / "data", {"red": 8, "green": 8, "blue": 8})
    common = dict(
        data_dir=str(data), backbone="tiny_cnn", image_size=16, batch_size=8, val_split=0.25
    )
    fit(Recipe(out_dir=str(base / "runs" / "slow"), epochs=2, lr=1e-3, **common))
    fit(Recipe(out_dir=str(base / "runs" / "fast"), epochs=3, lr=1e-2, freeze="none", **common))
    fit(Recipe(out_dir=str(base / "runs" / "all"), epochs=2, all_data=True, **common))
    build_ensemble(
        [base / "runs" / "slow", base / "runs" / "fast"], "average", base / "runs" / "ens"
    )
    return {name: base / "runs" / name for name in ("slow", "fast", "all", "ens")}


def test_each_runs_curves_and_metrics_come_from_its_folder(runs) -> None:
    compared = compare_runs([runs["slow"], runs["fast"]])
    assert [r.name for r in compared.runs] == ["slow", "fast"]
    for run in compared.runs:
        epochs = RunFolder.at(run.summary.path).read_metrics()["epochs"]
        assert run.curves.epochs == tuple(range(1, len(epochs) + 1))
        assert run.curves.val_loss == tuple(e["val_loss"] for e in epochs)
        assert run.curves.val_accuracy == tuple(e["val_accuracy"] for e in epochs)
        assert run.summary.epochs == len(epochs)
        assert run.summary.best_val_accuracy == max(e["val_accuracy"] for e in epochs)
        # The saved model's macro-F1 on the stored validation predictions.
        stored = load_predictions(run.summary.path)
        saved = read_run_info(run.summary.path).saved_epoch()
        predicted = stored.probabilities(saved).argmax(1)
        assert run.macro_f1 == pytest.approx(f1_score(stored.targets, predicted, average="macro"))
    assert [r.summary.strategy for r in compared.runs] == ["head", "full"]


def test_a_run_trained_on_all_its_images_has_training_curves_and_no_validation_ones(
    runs,
) -> None:
    compared = compare_runs([runs["all"], runs["slow"]])
    every, slow = compared.runs
    epochs = RunFolder.at(runs["all"]).read_metrics()["epochs"]
    assert all(e["val_loss"] is None for e in epochs)
    assert every.curves.epochs == (1, 2)
    assert every.curves.train_loss == tuple(e["train_loss"] for e in epochs)
    assert every.curves.train_accuracy == tuple(e["train_accuracy"] for e in epochs)
    assert every.curves.val_epochs == every.curves.val_loss == every.curves.val_accuracy == ()
    assert slow.curves.val_epochs == slow.curves.epochs == (1, 2)


def test_only_the_settings_that_differ_are_listed(runs) -> None:
    compared = compare_runs([runs["slow"], runs["fast"]])
    differing = {d.field: d.values for d in compared.differences}
    assert differing["lr"] == ("0.001", "0.01")
    assert differing["epochs"] == ("2", "3")
    assert "train_stages" in differing  # head only against every stage
    assert "out_dir" not in differing  # every two runs differ there: the runs are named by it
    assert "data_dir" not in differing and "image_size" not in differing
    assert compared.same_settings > 10
    labels = {d.field: d.label for d in compared.differences}
    assert labels["lr"] == "Learning rate"


def test_an_ensemble_has_no_recipe_and_its_own_scores(runs) -> None:
    compared = compare_runs([runs["slow"], runs["fast"], runs["ens"]])
    ensemble = compared.runs[2]
    assert not ensemble.has_recipe and ensemble.curves.epochs == ()
    assert ensemble.summary.strategy == "ensemble-average"
    scores = RunFolder.at(runs["ens"]).read_metrics()["ensemble"]
    assert ensemble.macro_f1 == pytest.approx(scores["macro_f1"])
    assert ensemble.summary.best_val_accuracy == pytest.approx(scores["accuracy"])
    lr = next(d for d in compared.differences if d.field == "lr")
    assert lr.values == ("0.001", "0.01", NO_RECIPE)


def test_comparing_fewer_than_two_runs_is_refused(runs) -> None:
    with pytest.raises(EvaluationError, match="at least two runs"):
        compare_runs([runs["slow"]])


def test_the_listing_carries_epochs_and_classes(runs) -> None:
    listed = {r.name: r for r in list_runs(runs["slow"].parent)}
    assert listed["fast"].epochs == 3 and listed["ens"].epochs == 0
    assert listed["slow"].classes == ("blue", "green", "red")
    assert listed["ens"].classes == listed["slow"].classes


def test_runs_of_other_classes_are_refused_before_any_is_read() -> None:
    assert class_mismatch([("a", ("cat", "dog")), ("b", ("cat", "dog"))]) is None
    reason = class_mismatch([("a", ("cat", "dog")), ("b", ("cat", "dog")), ("c", ("bird", "cat"))])
    assert reason.startswith("The runs do not share classes: a has cat, dog; c has bird, cat")
