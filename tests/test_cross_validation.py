"""Stratified K-fold cross-validation (`train --folds K`): disjoint stratified folds covering
every image once, each image scored by the fold model that did not train on it, and the summary."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from imagefolders import write_class_folders

from tlstudio.cli import main
from tlstudio.data import eval_transform, load_rgb, scan_folder
from tlstudio.errors import DatasetError
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder, load_model, load_predictions, read_oof_predictions
from tlstudio.training import cross_validate, fold_scans


def test_folds_are_disjoint_stratified_and_hold_out_every_image_once(tmp_path: Path) -> None:
    data = write_class_folders(tmp_path / "data", {"a": 7, "b": 5, "c": 9}, size=8)
    scan = scan_folder(data)
    folds = fold_scans(scan, 4, seed=3)
    held = [set(val.samples) for _, val in folds]
    assert sorted(s for h in held for s in h) == sorted(scan.samples)  # each image once
    for (train, _), h in zip(folds, held, strict=True):
        assert not set(train.samples) & h and set(train.samples) | h == set(scan.samples)
    for label, total in Counter(label for _, label in scan.samples).items():
        per_fold = [sum(1 for _, lab in h if lab == label) for h in held]
        assert max(per_fold) - min(per_fold) <= 1 and sum(per_fold) == total
    assert [set(v.samples) for _, v in fold_scans(scan, 4, seed=3)] == held  # seeded
    assert [set(v.samples) for _, v in fold_scans(scan, 4, seed=4)] != held


def test_out_of_fold_predictions_come_from_the_model_that_did_not_train_on_the_image(
        tmp_path: Path) -> None:
    data = write_class_folders(tmp_path / "data", {"red": 6, "green": 6, "blue": 6})
    run = tmp_path / "cv"
    result = cross_validate(Recipe(data_dir=str(data), out_dir=str(run), backbone="tiny_cnn",
                                   image_size=16, epochs=2, folds=3, device="cpu",
                                   precision="fp32"))
    rows, classes = read_oof_predictions(run)
    assert sorted(r.path for r in rows) == sorted(p for p, _ in scan_folder(data).samples)
    transform = eval_transform(16)
    for row in rows:
        fold_run = RunFolder.at(run).fold(row.fold)
        assert row.path in load_predictions(fold_run).files  # held out by that fold's fit
        model, _ = load_model(fold_run)
        with torch.inference_mode():
            expected = model(transform(load_rgb(row.path))[None]).softmax(1)[0].numpy()
        np.testing.assert_allclose(row.probabilities, expected, atol=1e-5)
    metrics = RunFolder.at(run).read_metrics()
    epoch_keys = set(load_fold_epoch_keys(RunFolder.at(run).fold(1)))
    assert len(metrics["folds"]) == 3
    assert all(epoch_keys | {"accuracy", "macro_f1"} <= set(f) for f in metrics["folds"])
    cv = metrics["cross_validation"]
    accuracies = [f["accuracy"] for f in metrics["folds"]]
    assert cv["accuracy_mean"] == pytest.approx(np.mean(accuracies))
    assert cv["accuracy_std"] == pytest.approx(np.std(accuracies))
    assert set(cv) == {"accuracy_mean", "accuracy_std", "macro_f1_mean", "macro_f1_std"}
    assert result.summary == cv and classes == ("blue", "green", "red")


def load_fold_epoch_keys(fold_run: Path) -> list[str]:
    return list(RunFolder.at(fold_run).read_metrics()["epochs"][0])


def test_train_folds_prints_each_fold_and_the_spread_and_refuses_too_small_classes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_class_folders(tmp_path / "data", {"red": 4, "green": 4})
    args = ["train", str(data), "--backbone", "tiny_cnn", "--image-size", "16", "--head",
            "logreg", "--out", str(tmp_path / "cv")]
    assert main([*args, "--folds", "2"]) == 0
    captured = capsys.readouterr()
    assert "fold 2/2: accuracy" in captured.err
    assert "2 folds: accuracy" in captured.out and "±" in captured.out
    assert RunFolder.at(tmp_path / "cv").oof_predictions.is_file()
    assert main([*args, "--folds", "5", "--overwrite"]) == 2
    assert "has 4 image(s); 5 folds need at least 5 per class" in capsys.readouterr().err
    assert RunFolder.at(tmp_path / "cv").oof_predictions.is_file()  # refused before replacing
    with pytest.raises(DatasetError):
        fold_scans(scan_folder(data), 5, 0)
