"""`tlstudio compare`: strategies on identical splits, compare.json as specified, the verdicts,
one feature extraction shared by the head-only strategies, and the time budget."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from imagefolders import write_class_folders, write_photo_crops

from tlstudio.cli import main
from tlstudio.comparison import budget as budget_module
from tlstudio.comparison import compare
from tlstudio.comparison.budget import Budget
from tlstudio.comparison.strategies import strategy_recipe
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder, load_predictions, load_weights
from tlstudio.training import FeatureStore, fit

ROW_KEYS = {"strategy", "backbone", "folds", "accuracy_mean", "accuracy_std", "macro_f1_mean",
            "macro_f1_std", "seconds"}


def test_a_pretrained_linear_probe_beats_the_same_architecture_from_random_weights(
        tmp_path: Path) -> None:
    data = write_photo_crops(tmp_path / "photos", per_class=10)
    # One held-out split and one epoch keep it to seconds: random weights get their chance
    # at the same cost as every other strategy.
    recipe = Recipe(data_dir=str(data), out_dir=str(tmp_path / "cmp"), image_size=64, epochs=1,
                    device="cpu", precision="fp32", batch_size=16)
    result = compare(recipe, ["tf_efficientnet_lite0"], ["logreg", "scratch"])
    saved = json.loads(RunFolder.at(tmp_path / "cmp").compare.read_text())
    assert saved == json.loads(json.dumps(result.result))
    rows = {row["strategy"]: row for row in saved["strategies"]}
    assert all(ROW_KEYS <= set(row) for row in rows.values())
    assert all(set(fold) == {"accuracy", "macro_f1", "seconds"} for fold in rows["logreg"]["folds"])
    assert rows["logreg"]["accuracy_mean"] >= rows["scratch"]["accuracy_mean"] + 0.2, rows
    assert saved["pretrained_helped"] is True
    assert saved["best"]["strategy"] == "logreg" and saved["best"]["margin"] >= 0.2
    assert set(saved["best"]) >= {"strategy", "backbone", "margin", "within_spread"}
    assert any(line.startswith("Pretrained weights helped") for line in result.lines)
    assert Path(result.chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_strategies_share_the_splits_and_the_head_only_ones_one_extraction(
        tmp_path: Path) -> None:
    data = write_class_folders(tmp_path / "data", {"red": 6, "green": 6, "blue": 6})
    out = RunFolder.at(tmp_path / "cmp")
    recipe = Recipe(data_dir=str(data), out_dir=str(out.path), backbone="tiny_cnn",
                    image_size=16, epochs=1, folds=3, device="cpu", precision="fp32")
    strategies = ["logreg", "svm", "knn", "head", "last-two"]
    result = compare(recipe, ["tiny_cnn"], strategies).result
    # 4 head-only strategies x 3 folds x (training, validation): all but the first's reused
    assert result["feature_extractions_shared"] == 3 * 3 * 2
    for fold in (1, 2, 3):
        held = {s: set(load_predictions(RunFolder.at(out.strategy("tiny_cnn", s)).fold(fold))
                       .files) for s in strategies}
        assert all(files == held["logreg"] for files in held.values())
    assert [row["strategy"] for row in result["strategies"]] == strategies
    assert result["pretrained_helped"] is None  # scratch not run: not claimed either way


def test_the_budget_gives_the_epochs_that_fit_and_compare_says_what_it_skipped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as clock:  # a clock that stands still: 10 s left, however slow
        clock.setattr(budget_module, "time", SimpleNamespace(perf_counter=lambda: 1000.0))
        budget = Budget(100.0, begun=910.0)
        budget.measured("full", seconds=12.0, epochs=3)  # 4 s an epoch
        assert budget.epochs_that_fit("full", 5) == 2
        assert budget.epochs_that_fit("last-two", 5, fallback="full") == 2
        assert budget.epochs_that_fit("full", 5, minimum=3) == 0
    assert Budget(None).epochs_that_fit("full", 5) == 5
    data = write_class_folders(tmp_path / "data", {"red": 4, "green": 4})
    code = main(["compare", str(data), "--backbones", "tiny_cnn", "--image-size", "16",
                 "--strategies", "logreg,full", "--budget", "0.000001", "--out",
                 str(tmp_path / "cmp")])
    out = capsys.readouterr().out
    assert code == 0
    assert "Budget: logreg (tiny_cnn) fold 1: skipped, the time budget is spent" in out
    assert "No strategy finished a fold" in out


def test_compare_refuses_unknown_strategies_and_needs_an_out_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_class_folders(tmp_path / "data", {"red": 4, "green": 4})
    assert main(["compare", str(data), "--strategies", "logreg,fancy", "--out",
                 str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "unknown strategy fancy" in err and "two-phase" in err
    assert main(["compare", str(data)]) == 2
    assert "--out DIR" in capsys.readouterr().err


def test_compare_refuses_an_unknown_backbone_before_training_any_strategy(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A typo in the second backbone used to surface only after the first backbone's folds had
    # trained, leaving a comparison folder with no compare.json.
    data = write_class_folders(tmp_path / "data", {"red": 4, "green": 4})
    out = tmp_path / "c"
    assert main(["compare", str(data), "--backbones", "tiny_cnn,nope", "--strategies",
                 "logreg", "--image-size", "16", "--epochs", "1", "--out", str(out)]) == 2
    assert "Unknown backbone 'nope'" in capsys.readouterr().err
    assert not out.exists()


def test_head_only_fits_sharing_a_store_build_the_backbone_once_and_train_as_alone(
        tmp_path: Path) -> None:
    data = write_class_folders(tmp_path / "data", {"red": 5, "green": 5})
    base = Recipe(data_dir=str(data), backbone="tiny_cnn", image_size=16, epochs=2,
                  device="cpu", precision="fp32")

    def trained(strategy: str, name: str, store: FeatureStore | None) -> dict:
        out = RunFolder.at(tmp_path / name)
        fit(strategy_recipe(base, strategy).replace(out_dir=str(out.path)), features=store)
        return load_weights(out.model_weights)

    alone = trained("head", "alone", None)
    store = FeatureStore()
    trained("logreg", "logreg", store)
    trained("full", "full", store)  # trains a backbone of its own, never the shared one
    shared = trained("head", "shared", store)
    assert len(store.backbones) == 1
    assert alone.keys() == shared.keys()
    assert all(torch.equal(alone[k], shared[k]) for k in alone)  # backbone and head alike


def test_compare_into_a_folder_holding_a_comparison_says_so_and_keeps_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # It used to call the comparison "a run that stopped before its first epoch finished, so
    # it cannot be resumed".
    data = write_class_folders(tmp_path / "data", {"red": 4, "green": 4})
    out = tmp_path / "cmp"
    argv = ["compare", str(data), "--backbones", "tiny_cnn", "--image-size", "16",
            "--strategies", "logreg", "--out", str(out)]
    assert main(argv) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"error: '{out}' already holds a strategy comparison (compare.json, "
                           "compare.png), left as it is; choose another --out, or remove it "
                           "first (--overwrite replaces it)")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
