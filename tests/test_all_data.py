"""Training on all images (--all-data): every image trains, nothing is held out, and every
front-end says there is no validation accuracy instead of inventing one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from imagefolders import write_class_folders

from tlstudio.cli import main
from tlstudio.domain import measure_shift
from tlstudio.errors import RecipeError
from tlstudio.evaluation.run_eval import evaluate_run
from tlstudio.export import export_run
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder
from tlstudio.training import fit

TINY = dict(backbone="tiny_cnn", epochs=2, image_size=16, batch_size=8, freeze="none")


def test_an_all_data_run_trains_on_every_image_and_exports(tmp_path: Path) -> None:
    data = write_class_folders(tmp_path / "train", {"red": 5, "green": 4})
    val = write_class_folders(tmp_path / "val", {"red": 2, "green": 3}, seed=1)
    result = fit(
        Recipe(
            data_dir=str(data),
            val_dir=str(val),
            out_dir=str(tmp_path / "run"),
            all_data=True,
            tensorboard=True,
            **TINY,
        )
    )
    folder = RunFolder.at(result.run_dir)
    metrics = json.loads(folder.metrics.read_text())
    assert metrics["all_data"] is True
    assert (metrics["train_images"], metrics["val_images"]) == (14, 0)  # 9 + 5, none held out
    assert metrics["best_epoch"] == 2  # nothing to choose by: the last epoch
    assert [e["val_accuracy"] for e in metrics["epochs"]] == [None, None]
    assert [e["val_loss"] for e in metrics["epochs"]] == [None, None]
    assert folder.has_model()
    assert any(folder.tensorboard.iterdir())  # its curves, without the validation ones
    assert Path(export_run(result.run_dir, "onnx").path).is_file()
    with pytest.raises(Exception, match="trained on all images: no validation accuracy"):
        evaluate_run(result.run_dir)  # the report has nothing held out to score
    # The shift view and `tlstudio shift` measure it too: its confidence is on training images.
    shift = measure_shift(result.run_dir, val)
    assert shift.confidence_images == "training"
    assert shift.source_images == 14 and 0 < shift.source_confidence <= 1


def test_ordinary_runs_still_hold_images_out(tmp_path: Path) -> None:
    data = write_class_folders(tmp_path / "train", {"red": 5, "green": 5})
    result = fit(Recipe(data_dir=str(data), out_dir=str(tmp_path / "run"), val_split=0.2, **TINY))
    metrics = json.loads(RunFolder.at(result.run_dir).metrics.read_text())
    assert (metrics["all_data"], metrics["train_images"], metrics["val_images"]) == (False, 8, 2)
    assert all(isinstance(e["val_accuracy"], float) for e in metrics["epochs"])


def test_validation_callbacks_are_refused_with_all_data(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="early stopping"):
        Recipe(data_dir=str(tmp_path), all_data=True, early_stopping_patience=2)
    with pytest.raises(RecipeError, match="reduce-on-plateau"):
        Recipe(data_dir=str(tmp_path), all_data=True, reduce_lr_patience=2)


def test_cli_trains_on_all_data_and_prints_no_validation_accuracy(tmp_path, capsys) -> None:
    data = write_class_folders(tmp_path / "data", {"red": 4, "green": 4, "blue": 4})
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(data),
                "--all-data",
                "--backbone",
                "tiny_cnn",
                "--out",
                str(run),
                "--epochs",
                "2",
                "--image-size",
                "16",
                "--batch-size",
                "8",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "12 training and 0 validation images" in err
    assert "trained on all images: no validation accuracy" in err
    assert "val accuracy" not in err
    assert main(["report", str(run)]) == 2
    assert "trained on all images: no validation accuracy" in capsys.readouterr().err
    assert main(["export", str(run), "--format", "onnx"]) == 0
