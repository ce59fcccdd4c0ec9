"""The settings schema: every Recipe field declared once, and what is derived from it (CLI
options, validation messages, README's table); the recipe's normal form."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
from pathlib import Path

import pytest

from tlstudio.cli import build_parser, main
from tlstudio.errors import RecipeError
from tlstudio.models import HEAD_STAGE
from tlstudio.models.freezing import stage_names
from tlstudio.recipe import HEAD_ONLY, LR_FIND_FIELDS, Recipe
from tlstudio.settings import GROUPS, KINDS, check_value, cli_flag, options_tables, settings_of

README = Path(__file__).parent.parent / "README.md"
# Flags that scripts outside the repo drive: they keep their names.
KEPT_FLAGS = ("--val", "--val-split", "--mixup", "--cutmix", "--early-stopping", "--reduce-lr",
              "--keep-last", "--workers", "--no-feature-cache", "--aug-crop-scale", "--hflip",
              "--no-hflip", "--out", "--freeze", "--unfreeze", "--channels-last",
              "--no-channels-last", "--reduce-lr-factor", "--head-epochs", "--lr-decay")


def _help(command: str) -> str:
    """What `tlstudio COMMAND --help` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    return out.getvalue()


def test_every_recipe_field_declares_its_setting() -> None:
    declared = list(settings_of(Recipe))
    assert {name for name, _, _ in declared} == {f.name for f in dataclasses.fields(Recipe)}
    groups = {key for key, _ in GROUPS}
    for name, s, default in declared:
        assert s.label and s.help and s.group in groups and s.kind in KINDS, name
        if s.kind in ("int", "float"):
            assert s.low is not None and s.high is not None and s.low < s.high, name
        if s.kind == "choice":
            assert len(s.choices) >= 2, name
        if name != "data_dir":
            assert check_value(name, s, default) is None, name  # the default is valid
    assert HEAD_ONLY == (HEAD_STAGE,)


def test_train_help_shows_every_option_with_its_default() -> None:
    text = " ".join(_help("train").split())
    for name, s, _ in settings_of(Recipe):
        if s.cli:
            assert cli_flag(name, s) in text, name
    for flag in KEPT_FLAGS:
        assert re.search(rf"{flag}\b", text), flag
    assert "(default: 0.001)" in text and "(default: adamw)" in text
    assert "(default: off)" in text  # --early-stopping: None means off


def test_lr_find_takes_only_the_options_it_honours() -> None:
    text = _help("lr-find")
    for flag in ("--out", "--overwrite", "--resume", "--keep-last", "--epochs", "--augment",
                 "--mixup", "--early-stopping", "--schedule", "--tensorboard"):
        assert not re.search(rf"{flag}\b", text), flag
    for flag in ("--batch-size", "--freeze", "--train-stages", "--image-size", "--lr-decay",
                 "--precision", "--steps"):
        assert flag in text, flag
    assert {"data_dir", "batch_size", "train_stages"} <= LR_FIND_FIELDS


@pytest.mark.parametrize(("changes", "words"), [
    ({"lr": 11.0}, "Learning rate must be a number from 1e-08 to 10, not 11.0"),
    ({"epochs": 0}, "Epochs must be a whole number from 1 to 10000"),
    ({"batch_size": "8"}, "Batch size must be a whole number"),
    ({"val_split": 0.95}, "Validation split must be a number from 0.01 to 0.9"),
    ({"threads": 0}, "CPU threads must be a whole number from 1 to 1024"),
    ({"device": "tpu"}, "device must be one of auto, cpu, cuda, mps, cuda:N, not 'tpu'"),
    ({"keep_best": "yes"}, "keep_best must be true or false"),
    ({"train_stages": "classifier"}, "train_stages must be a list of names"),
    ({"epochs": 3, "head_epochs": 3}, "head epochs (3) must be fewer than the epochs (3)"),
])
def test_validation_messages_come_from_the_declaration(changes: dict, words: str) -> None:
    with pytest.raises(RecipeError, match=re.escape(words)):
        Recipe(data_dir="d", **changes)


def test_readme_option_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- options table")
    table = text[text.index("\n", start) + 1:text.index("<!-- end of options table -->")]
    assert table == options_tables(), "run `python -m tlstudio.settings` into README"


def test_freeze_is_resolved_into_the_trainable_stages() -> None:
    names = stage_names("resnet18")
    assert Recipe(data_dir="d").train_stages == HEAD_ONLY
    assert Recipe(data_dir="d", backbone="resnet18", freeze="none").train_stages == names
    two = Recipe(data_dir="d", backbone="resnet18", freeze="stages:2")
    assert two.train_stages == names[2:]
    assert "freeze" not in two.to_dict()  # stored one way
    assert two.replace(epochs=3).train_stages == names[2:]
    assert two.replace(freeze="backbone").train_stages == HEAD_ONLY
    with pytest.raises(RecipeError, match="freeze must be 'backbone', 'none' or 'stages:K'"):
        Recipe(data_dir="d", freeze="half")


def test_older_recipe_files_still_load() -> None:
    old = {"data_dir": "/d", "backbone": "resnet18", "freeze": "stages:3", "train_stages": [],
           "extra": {}}
    assert Recipe.from_dict(old).train_stages == stage_names("resnet18")[3:]
    checked = {**old, "train_stages": ["layer4", "classifier"]}  # the window's tree won
    assert Recipe.from_dict(checked).train_stages == ("layer4", "classifier")


def test_settings_from_a_newer_version_are_refused_with_a_reason() -> None:
    with pytest.raises(RecipeError, match="newer version"):
        Recipe.from_dict({"data_dir": "/d", "extra": {"ema": 0.99}})
    with pytest.raises(RecipeError, match="Unknown recipe setting.*ema"):
        Recipe.from_dict({"data_dir": "/d", "ema": 0.99})


def test_saved_paths_are_absolute_and_relative_ones_follow_the_recipe_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Recipe(data_dir="data", out_dir="runs/a", val_dir="val").save("saved.json")
    saved = json.loads((tmp_path / "saved.json").read_text())
    assert saved["data_dir"] == str(tmp_path / "data")
    assert saved["out_dir"] == str(tmp_path / "runs" / "a")
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "r.json").write_text(json.dumps({"data_dir": "../data", "weights": "w.pt"}))
    loaded = Recipe.load(folder / "r.json")
    assert loaded.data_dir == str(tmp_path / "data")
    assert loaded.weights == str(folder / "w.pt")


def test_an_older_recipe_with_paths_relative_to_the_working_folder_still_finds_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    run = tmp_path / "runs" / "data"
    run.mkdir(parents=True)
    (run / "recipe.json").write_text(json.dumps({"data_dir": "data", "out_dir": "runs/data"}))
    monkeypatch.chdir(tmp_path)
    loaded = Recipe.load(run / "recipe.json")
    assert loaded.data_dir == str(tmp_path / "data")  # not runs/data/data, which is not there


def test_train_with_a_recipe_works_from_another_folder(
        colour_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    recipe = {"data_dir": "../data", "out_dir": "../runs/r", "backbone": "tiny_cnn",
              "epochs": 1, "batch_size": 8, "image_size": 16, "val_split": 0.25}
    (recipes / "r.json").write_text(json.dumps(recipe))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["train", "--recipe", str(recipes / "r.json")]) == 0
    written = json.loads((tmp_path / "runs" / "r" / "recipe.json").read_text())
    assert written["data_dir"] == str(colour_data)
    assert not any(elsewhere.iterdir())  # nothing landed in the working folder


def test_cli_paths_are_made_absolute_against_the_working_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["train", "data", "--out", "runs/x", "--freeze", "none",
                                      "--backbone", "resnet18"])
    from tlstudio.cli import recipe_from_args

    recipe = recipe_from_args(args)
    assert recipe.data_dir == str(tmp_path / "data")
    assert recipe.out_dir == str(tmp_path / "runs" / "x")
    assert recipe.train_stages == stage_names("resnet18")


def test_another_backbone_for_a_recipe_that_trains_stages_asks_what_trains(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "r.json"
    Recipe(data_dir=str(tmp_path), backbone="resnet18", freeze="stages:3").save(path)
    code = main(["train", "--recipe", str(path), "--backbone", "tiny_cnn"])
    assert code == 2
    assert "--freeze or --train-stages" in capsys.readouterr().err
