"""A new run never silently replaces an old one: fit refuses a folder holding a run unless told
to overwrite (then the old run's files go first); the CLI replays a recipe into a fresh folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tlstudio.cli import main
from tlstudio.errors import RecipeError
from tlstudio.export import EXPORT_FOLDER
from tlstudio.failures import FrontEnd, describe_failure
from tlstudio.recipe import Recipe
from tlstudio.runs import folder
from tlstudio.training import fit, resume_run


def _recipe(data: Path, out: Path, **changes) -> Recipe:
    base = dict(data_dir=str(data), out_dir=str(out), backbone="tiny_cnn", epochs=1,
                batch_size=8, lr=0.01, image_size=16, val_split=0.25, freeze="backbone")
    return Recipe(**{**base, **changes})


def _train_args(data: Path, *extra: str) -> list[str]:
    return ["train", str(data), "--backbone", "tiny_cnn", "--epochs", "1", "--image-size", "16",
            "--batch-size", "8", "--val-split", "0.25", *extra]


def test_fit_refuses_a_folder_that_holds_a_run(colour_data, tmp_path) -> None:
    run = tmp_path / "r1"
    fit(_recipe(colour_data, run))
    model = (run / "model.safetensors").read_bytes()
    with pytest.raises(RecipeError) as refused:
        fit(_recipe(colour_data, run, lr=0.1))
    held = f"'{run}' already holds a run (metrics.json, model.safetensors, checkpoint.pt)"
    assert str(refused.value) == held  # the core names no flag: each front-end words remedies
    assert describe_failure(refused.value, FrontEnd.CLI) == (
        f"{held}; choose another --out, add --overwrite, or continue it with --resume")
    assert describe_failure(refused.value, FrontEnd.WINDOW) == (
        f"{held}; choose another folder in 'Save runs in', delete the old run's files first, "
        "or continue it with File > Resume run…")
    assert (run / "model.safetensors").read_bytes() == model
    assert json.loads((run / "recipe.json").read_text())["lr"] == 0.01


def test_a_folder_with_other_files_is_not_a_run(colour_data, tmp_path) -> None:
    run = tmp_path / "r1"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    fit(_recipe(colour_data, run))
    assert (run / "notes.txt").read_text() == "mine" and (run / "model.safetensors").is_file()


def test_overwrite_replaces_the_whole_old_run(colour_data, tmp_path) -> None:
    run = tmp_path / "r1"
    fit(_recipe(colour_data, run, epochs=2, keep_best=True))
    (run / EXPORT_FOLDER).mkdir()
    (run / EXPORT_FOLDER / "model.onnx").write_bytes(b"old")
    (run / "report.html").write_text("old report")
    (run / "notes.txt").write_text("mine")
    assert (run / "best_model.safetensors").is_file()
    fit(_recipe(colour_data, run, keep_best=False), overwrite=True)
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoint.pt", "metrics.json", "model.json", "model.safetensors", "notes.txt",
        "recipe.json", "val_predictions.safetensors"]
    assert len(json.loads((run / "metrics.json").read_text())["epochs"]) == 1


def test_resuming_needs_no_overwrite(colour_data, tmp_path) -> None:
    run = tmp_path / "r1"
    fit(_recipe(colour_data, run))
    assert [e.epoch for e in resume_run(run, epochs=2).epochs] == [1, 2]
    with pytest.raises(ValueError):
        fit(_recipe(colour_data, run, epochs=3), resume=True, overwrite=True)


def test_cli_refuses_to_replace_a_run_unless_told(colour_data, tmp_path, capsys) -> None:
    run = tmp_path / "r1"
    assert main(_train_args(colour_data, "--out", str(run))) == 0
    model = (run / "model.safetensors").read_bytes()
    assert main(_train_args(colour_data, "--out", str(run), "--lr", "0.1")) == 2
    err = capsys.readouterr().err
    assert f"error: '{run}' already holds a run" in err and "Traceback" not in err
    assert "choose another --out, add --overwrite, or continue it with --resume" in err
    assert (run / "model.safetensors").read_bytes() == model
    assert main(_train_args(colour_data, "--out", str(run), "--lr", "0.1", "--overwrite")) == 0
    assert json.loads((run / "recipe.json").read_text())["lr"] == 0.1
    assert main(["train", "--resume", str(run), "--overwrite"]) == 2
    assert "only --epochs can change (--overwrite given)" in capsys.readouterr().err


def test_replaying_a_runs_recipe_writes_a_new_sibling_folder(colour_data, tmp_path,
                                                              capsys) -> None:
    run = tmp_path / "20261124-120000-tiny_cnn"
    assert main(_train_args(colour_data, "--out", str(run))) == 0
    model = (run / "model.safetensors").read_bytes()
    capsys.readouterr()
    for n in (2, 3):
        assert main(["train", "--recipe", str(run / "recipe.json")]) == 0
        sibling = tmp_path / f"{run.name}-{n}"
        err, out = capsys.readouterr()[::-1]
        assert f"writing this one to '{sibling}'" in err
        assert f"run written to {sibling}" in out
        assert json.loads((sibling / "recipe.json").read_text())["out_dir"] == str(sibling)
    assert (run / "model.safetensors").read_bytes() == model


def test_a_recipe_whose_folder_holds_no_run_writes_there(colour_data, tmp_path) -> None:
    out = tmp_path / "planned"
    _recipe(colour_data, out).save(tmp_path / "recipe.json")
    assert main(["train", "--recipe", str(tmp_path / "recipe.json")]) == 0
    assert (out / "model.safetensors").is_file() and not (tmp_path / "planned-2").exists()


def test_a_replaced_run_leaves_none_of_its_files(colour_data, tmp_path) -> None:
    """Every file the run folder's owner names is cleared when a run is replaced."""
    run = tmp_path / "r1"
    fit(_recipe(colour_data, run, epochs=2, keep_best=True))
    # written on request (ensemble.json by `tlstudio ensemble` into a folder trained over)
    for name in (folder.EXPORT_FOLDER, folder.REPORT, folder.TENSORBOARD, folder.ENSEMBLE,
                 folder.FOLDS, folder.OOF_PREDICTIONS, folder.COMPARE, folder.COMPARE_CHART):
        (run / name).write_text("old")
    assert set(folder.HEADLINE + folder.OTHER_OUTPUTS + folder.CLEARED_TOO) <= {
        p.name for p in run.iterdir()}
    fit(_recipe(colour_data, run, epochs=1, keep_best=False), overwrite=True)
    assert not (run / folder.BEST_WEIGHTS).exists() and not (run / folder.REPORT).exists()
    assert not any((run / name).exists() for name in (
        folder.FOLDS, folder.OOF_PREDICTIONS, folder.COMPARE, folder.COMPARE_CHART))
