"""The `tensorboard` setting: a run writes TensorBoard event files that TensorBoard reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from tlstudio.cli import main
from tlstudio.errors import RecipeError
from tlstudio.recipe import Recipe
from tlstudio.runs.folder import TENSORBOARD as TENSORBOARD_DIR
from tlstudio.training import fit, tensorboard_log
from tlstudio.training.tensorboard_log import hyperparameters


def _recipe(data: Path, out: Path, **changes) -> Recipe:
    settings = dict(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", epochs=2,
                    batch_size=6, lr=0.01, image_size=16, val_split=0.25)
    return Recipe(**{**settings, **changes})


def _events(run: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(run / TENSORBOARD_DIR))
    accumulator.Reload()
    return accumulator


def test_run_writes_batch_and_epoch_curves_and_the_recipe(colour_data: Path,
                                                          tmp_path: Path) -> None:
    recipe = _recipe(colour_data, tmp_path / "run", tensorboard=True)
    result = fit(recipe)
    events = _events(Path(result.run_dir))
    epochs = {tag: [(e.step, e.value) for e in events.Scalars(tag)]
              for tag in events.Tags()["scalars"] if tag.startswith("epoch/")}
    assert [step for step, _ in epochs["epoch/val_loss"]] == [1, 2]
    assert {"epoch/train_loss", "epoch/train_accuracy", "epoch/val_accuracy",
            "epoch/lr"} <= set(epochs)
    metrics = result.epochs
    assert [v for _, v in epochs["epoch/val_loss"]] == pytest.approx(
        [e.val_loss for e in metrics], rel=1e-5)
    batches = events.Scalars("batch/loss")
    assert len(batches) >= 4 and [b.step for b in batches] == list(
        range(1, len(batches) + 1))
    assert "recipe/text_summary" in events.Tags()["tensors"]  # the recipe as text
    start = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = HParamsPluginData.FromString(start).session_start_info.hparams
    assert hparams["lr"].number_value == pytest.approx(0.01)
    assert hparams["backbone"].string_value == "tiny_cnn"


def test_recipe_becomes_plain_hyperparameters() -> None:
    params = hyperparameters(Recipe(data_dir="/d", threads=None, unfreeze=("a.*",)))
    assert params["lr"] == 1e-3 and params["threads"] == "None"
    assert params["unfreeze"] == "['a.*']" and params["tensorboard"] is False


def test_off_by_default_and_cli_turns_it_on(colour_data: Path, tmp_path: Path) -> None:
    plain = fit(_recipe(colour_data, tmp_path / "plain", epochs=1))
    assert not (Path(plain.run_dir) / TENSORBOARD_DIR).exists()
    assert main(["train", str(colour_data), "--backbone", "tiny_cnn", "--epochs", "1",
                 "--image-size", "16", "--batch-size", "6", "--out", str(tmp_path / "cli"),
                 "--tensorboard"]) == 0
    assert _events(tmp_path / "cli").Scalars("epoch/val_loss")
    fit(_recipe(colour_data, tmp_path / "cli", epochs=1), overwrite=True)
    assert not (tmp_path / "cli" / TENSORBOARD_DIR).exists()  # no curves of the old run


def test_missing_package_is_a_clear_error_before_training(
        colour_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> type:
        raise RecipeError("The TensorBoard log needs the tensorboard package")

    monkeypatch.setattr(tensorboard_log, "_summary_writer", missing)
    with pytest.raises(RecipeError, match="needs the tensorboard package"):
        fit(_recipe(colour_data, tmp_path / "run", tensorboard=True))
    assert not (tmp_path / "run").exists()
