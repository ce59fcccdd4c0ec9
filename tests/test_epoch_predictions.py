"""Per-epoch validation predictions stored in the run folder, and evaluations built from them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from imagefolders import write_class_folders

from tlstudio.evaluation import epoch_evaluation, evaluate_run, stored_epochs
from tlstudio.recipe import Recipe
from tlstudio.runs.folder import PREDICTIONS
from tlstudio.runs.predictions import (
    PredictionsError,
    load_predictions,
    save_epoch_predictions,
)
from tlstudio.training import fit, resume_run

CLASSES = {"red": 6, "green": 6, "blue": 6}


def tiny_recipe(tmp_path: Path, epochs: int = 3, **changes) -> Recipe:
    data = write_class_folders(tmp_path / "data", CLASSES)
    return Recipe(data_dir=str(data), out_dir=str(tmp_path / "run"), backbone="tiny_cnn",
                  epochs=epochs, image_size=16, batch_size=4, freeze="none", val_split=0.34,
                  lr=3e-3, **changes)


def test_every_epoch_is_stored_and_the_last_matches_the_model(tmp_path: Path) -> None:
    recipe = tiny_recipe(tmp_path, keep_best=False)
    fit(recipe)
    run = Path(recipe.out_dir)
    assert stored_epochs(run) == [1, 2, 3]
    stored = load_predictions(run)
    assert len(stored.files) == 6 and all(Path(f).is_absolute() for f in stored.files)
    assert stored.classes == ("blue", "green", "red")
    # rows are probabilities
    np.testing.assert_allclose(stored.probabilities(3).sum(1), 1.0, atol=1e-5)

    last = epoch_evaluation(run)  # no model loaded
    fresh = evaluate_run(run)  # the saved model run again on the same images
    assert last.evaluation.confusion == fresh.evaluation.confusion
    by_path = {r.path: r for r in fresh.records}
    for record in last.records:
        other = by_path[str(Path(record.path))]
        assert record.predicted == other.predicted
        assert record.confidence == pytest.approx(other.confidence, abs=1e-4)
        assert record.loss == pytest.approx(other.loss, rel=1e-3, abs=1e-4)
        assert [c for c, _ in record.top5] == [c for c, _ in other.top5]


def test_per_class_accuracy_each_epoch_agrees_with_the_stored_matrix(tmp_path: Path) -> None:
    recipe = tiny_recipe(tmp_path, epochs=2)
    fit(recipe)
    metrics = json.loads((Path(recipe.out_dir) / "metrics.json").read_text())
    for row in metrics["epochs"]:
        ev = epoch_evaluation(recipe.out_dir, row["epoch"])
        assert ev.evaluation.accuracy == pytest.approx(row["val_accuracy"])
        recall = [c.recall for c in ev.evaluation.per_class]
        assert row["per_class_accuracy"] == pytest.approx(recall)


def test_earlier_epochs_stay_readable_and_an_unknown_epoch_is_a_clear_error(
        tmp_path: Path) -> None:
    run = tmp_path / "run"
    files = ("/a.png", "/b.png")
    first = np.array([[0.9, 0.1], [0.8, 0.2]])
    second = np.array([[0.9, 0.1], [0.3, 0.7]])
    save_epoch_predictions(run, 1, first, np.array([0, 1]), files, ("cat", "dog"))
    save_epoch_predictions(run, 2, second, np.array([0, 1]), files, ("cat", "dog"))
    assert epoch_evaluation(run, 1).evaluation.confusion == ((1, 0), (1, 0))
    assert epoch_evaluation(run, 2).evaluation.confusion == ((1, 0), (0, 1))
    with pytest.raises(PredictionsError, match="epoch 7"):
        epoch_evaluation(run, 7)
    # Re-saving epoch 1 (a resumed run redoing it) drops the later epoch.
    save_epoch_predictions(run, 1, second, np.array([0, 1]), files, ("cat", "dog"))
    assert stored_epochs(run) == [1]


def test_a_run_without_predictions_says_so(tmp_path: Path) -> None:
    assert stored_epochs(tmp_path) == []
    with pytest.raises(PredictionsError, match="no stored validation predictions"):
        epoch_evaluation(tmp_path)
    (tmp_path / PREDICTIONS).write_bytes(b"not a safetensors file")
    with pytest.raises(PredictionsError, match="Cannot read"):
        load_predictions(tmp_path)


def test_extending_a_run_keeps_the_earlier_epochs(tmp_path: Path) -> None:
    recipe = tiny_recipe(tmp_path, epochs=2)
    fit(recipe)
    before = load_predictions(recipe.out_dir).probabilities(2)
    resume_run(recipe.out_dir, epochs=3)
    assert stored_epochs(recipe.out_dir) == [1, 2, 3]
    np.testing.assert_array_equal(load_predictions(recipe.out_dir).probabilities(2), before)
    # A new run replacing the old one in the same folder starts a new history.
    fit(recipe.replace(epochs=1), overwrite=True)
    assert stored_epochs(recipe.out_dir) == [1]
