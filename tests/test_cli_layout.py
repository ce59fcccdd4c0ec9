"""`tlstudio train ROOT` where ROOT holds train/ and val/: trains on the classes inside them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from imagefolders import write_class_folders

from tlstudio.cli import main

CLASSES = {"red": 6, "green": 6, "blue": 6}
TINY = ["--backbone", "tiny_cnn", "--epochs", "1", "--image-size", "16", "--batch-size", "8",
        "--freeze", "none"]


@pytest.fixture
def split_root(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    write_class_folders(root / "train", CLASSES)
    write_class_folders(root / "val", {name: 2 for name in CLASSES}, seed=1)
    return root


def test_train_on_a_split_root_uses_train_and_val(split_root: Path, tmp_path: Path,
                                                  monkeypatch, capsys) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # the default run folder is named after the
    assert main(["train", str(split_root), *TINY]) == 0  # root, not train/
    err = capsys.readouterr().err
    assert ("This folder holds train/ and val/: using train/ for training and val/ for "
            "validation") in err
    run = tmp_path / "tlstudio" / "runs" / "photos"
    assert json.loads((run / "model.json").read_text())["classes"] == ["blue", "green", "red"]
    recipe = json.loads((run / "recipe.json").read_text())
    assert recipe["data_dir"] == str(split_root / "train")
    assert recipe["val_dir"] == str(split_root / "val")


def test_val_split_given_holds_out_part_of_train(split_root: Path, tmp_path: Path,
                                                capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", str(split_root), *TINY, "--val-split", "0.25", "--out", str(out)]) == 0
    assert ("using train/ for training and holding out 25% of each class for validation "
            "(val/ is not used)") in capsys.readouterr().err
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["data_dir"] == str(split_root / "train") and recipe["val_dir"] is None
    assert json.loads((out / "model.json").read_text())["classes"] == ["blue", "green", "red"]


def test_an_explicit_val_folder_is_kept(split_root: Path, tmp_path: Path, capsys) -> None:
    other_val = write_class_folders(tmp_path / "other", {name: 2 for name in CLASSES}, seed=2)
    out = tmp_path / "run"
    args = ["train", str(split_root / "train"), *TINY, "--val", str(other_val), "--out", str(out)]
    assert main(args) == 0
    assert "This folder holds" not in capsys.readouterr().err
    assert json.loads((out / "recipe.json").read_text())["val_dir"] == str(other_val)


def test_lr_find_on_a_split_root_uses_train(split_root: Path, capsys) -> None:
    lr_find_options = [o for o in TINY if o not in ("--epochs", "1")]  # it trains no epochs
    main(["lr-find", str(split_root), *lr_find_options, "--steps", "5"])
    assert "using train/ for training and val/ for validation" in capsys.readouterr().err


def test_fit_given_a_split_root_trains_on_train_and_validates_on_val(split_root: Path,
                                                                     tmp_path: Path) -> None:
    """The core resolves the layout: `fit` alone does what the CLI and the window do."""
    from tlstudio.recipe import Recipe
    from tlstudio.training import FitStarted, LogMessage, fit

    events: list = []
    recipe = Recipe(data_dir=str(split_root), out_dir=str(tmp_path / "run"), backbone="tiny_cnn",
                    epochs=1, image_size=16, batch_size=8)
    result = fit(recipe, callbacks=[events.append])
    assert result.classes == ("blue", "green", "red")  # not "train" and "val"
    started = next(e for e in events if isinstance(e, FitStarted))
    assert (started.train_images, started.val_images) == (18, 6)  # all of train/, all of val/
    notes = [e.text for e in events if isinstance(e, LogMessage)]
    assert any("using train/ for training and val/ for validation" in n for n in notes)
    saved = json.loads((tmp_path / "run" / "recipe.json").read_text())
    assert (saved["data_dir"], saved["val_dir"]) == (str(split_root / "train"),
                                                     str(split_root / "val"))


def test_lr_find_given_a_split_root_sees_the_classes_inside(split_root: Path) -> None:
    from tlstudio.recipe import Recipe
    from tlstudio.training import LogMessage
    from tlstudio.training.lr_finder import lr_find

    events: list = []
    recipe = Recipe(data_dir=str(split_root), backbone="tiny_cnn", image_size=16, batch_size=8)
    assert len(lr_find(recipe, emit=events.append, steps=5).lrs) == 5
    assert any(isinstance(e, LogMessage) and "using train/ for training" in e.text
               for e in events)
