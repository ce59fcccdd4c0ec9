"""`tlstudio ensemble`: runs with the same classes combined into one run folder that predict,
report and export accept; its exports hold every member (each at its own input size)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from imagefolders import write_class_folders

from tlstudio.cli import main
from tlstudio.ensemble import build_ensemble
from tlstudio.ensemble.combine import fit_stacker, stack_features
from tlstudio.errors import ExportError
from tlstudio.evaluation.report import write_report
from tlstudio.export import export_run
from tlstudio.inference import load_predictor
from tlstudio.recipe import Recipe
from tlstudio.runs import (
    RunFolder,
    load_predictions,
    read_ensemble_info,
    read_oof_predictions,
    read_run_info,
)
from tlstudio.training import cross_validate, fit

CLASSES = {"red": 10, "green": 10, "blue": 10}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Runs on one colour dataset and split: a good one, a barely trained one (lr near 0),
    one at another input size; and one run on other classes."""
    base = tmp_path_factory.mktemp("ensemble")
    data = write_class_folders(base / "data", CLASSES)
    other = write_class_folders(base / "other", {"red": 6, "green": 6})
    common = dict(data_dir=str(data), backbone="tiny_cnn", batch_size=8, val_split=0.3,
                  freeze="none")
    made = {
        "good": dict(common, image_size=16, epochs=4, lr=1e-2),
        "poor": dict(common, image_size=16, epochs=1, lr=1e-8),
        "wide": dict(common, image_size=24, epochs=2),
        "other": dict(common, data_dir=str(other), image_size=16, epochs=1),
        "resplit": dict(common, image_size=16, epochs=1, seed=7),  # another validation split
        "knn": dict(common, image_size=16, epochs=1, freeze="backbone", head="knn"),
    }
    for name, settings in made.items():
        fit(Recipe(out_dir=str(base / name), **settings))
    return {name: base / name for name in made}


def _images(size: int, count: int = 5) -> torch.Tensor:
    return torch.rand(count, 3, size, size, generator=torch.Generator().manual_seed(1))


def test_an_average_ensemble_gives_the_mean_of_its_members(runs, tmp_path: Path) -> None:
    out = tmp_path / "ens"
    build_ensemble([runs["good"], runs["poor"]], "average", out)
    batch = _images(16)
    members = [load_predictor(runs[name]).predict_tensor(batch) for name in ("good", "poor")]
    ensemble = load_predictor(out)
    assert set(ensemble.classes) == set(CLASSES)
    np.testing.assert_allclose(ensemble.predict_tensor(batch), np.mean(members, axis=0),
                               atol=1e-6)
    # Its stored validation scores are the members' saved-epoch probabilities, averaged.
    stored = [load_predictions(runs[name]) for name in ("good", "poor")]
    saved = [s.probabilities(read_run_info(r).saved_epoch())
             for s, r in zip(stored, (runs["good"], runs["poor"]), strict=True)]
    own = load_predictions(out)
    assert own.files == stored[0].files
    np.testing.assert_allclose(own.probabilities(1), np.mean(saved, axis=0), atol=1e-6)


def test_members_of_different_input_sizes_share_one_input(runs, tmp_path: Path) -> None:
    out = tmp_path / "ens"
    build_ensemble([runs["good"], runs["wide"]], "average", out)
    ensemble = load_predictor(out)
    assert ensemble.image_size == 24  # the largest member's; the 16-pixel one gets it resized
    batch = _images(24)
    small = torch.nn.functional.interpolate(batch, size=(16, 16), mode="bilinear",
                                            align_corners=False)
    expected = (load_predictor(runs["good"]).predict_tensor(small)
                + load_predictor(runs["wide"]).predict_tensor(batch)) / 2
    np.testing.assert_allclose(ensemble.predict_tensor(batch), expected, atol=1e-6)
    image = next((Path(read_run_info(runs["good"]).recipe.data_dir) / "red").iterdir())
    predictions, skipped = ensemble.predict_paths([str(image)])
    assert not skipped and predictions[0].label in CLASSES


@pytest.mark.parametrize("method", ["average", "stacking"])
def test_exports_hold_every_member_and_match_pytorch(runs, tmp_path: Path, method) -> None:
    out = tmp_path / "ens"
    build_ensemble([runs["good"], runs["wide"]], method, out)
    reference = load_predictor(out)
    batch = _images(24)
    for fmt in ("onnx", "torchscript"):
        result = export_run(out, fmt)
        assert result.checked and result.max_abs_diff <= 1e-4
        assert result.check_images > 0  # its stored validation images, not only noise
        exported = load_predictor(result.path)
        assert exported.image_size == 24 and exported.classes == reference.classes
        np.testing.assert_allclose(exported.predict_tensor(batch),
                                   reference.predict_tensor(batch), atol=1e-4)
    graph = onnx.load(str(out / "export" / "onnx" / "model.onnx")).graph  # default place
    assert "Resize" in {node.op_type for node in graph.node}  # the 16-pixel member's input
    with pytest.raises(Exception, match="ONNX or TorchScript"):
        export_run(out, "safetensors")


def test_weighted_weights_sum_to_one_and_favour_the_better_member(runs, tmp_path,
                                                                   capsys) -> None:
    out = tmp_path / "ens"
    assert main(["ensemble", str(runs["good"]), str(runs["poor"]), "--method", "weighted",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ensemble (weighted)" in printed and "cross-validated" in printed
    good, poor = read_ensemble_info(out).members
    assert good.accuracy > poor.accuracy
    assert good.weight + poor.weight == pytest.approx(1.0)
    assert good.weight > poor.weight
    listed = json.loads(_run_cli(capsys, ["runs", str(tmp_path), "--json"]))
    assert listed[0]["strategy"] == "ensemble-weighted" and listed[0]["status"] == "finished"


def test_stacking_is_scored_out_of_fold_and_reported_with_its_members(runs, tmp_path) -> None:
    out = tmp_path / "ens"
    result = build_ensemble([runs["good"], runs["poor"], runs["wide"]], "stacking", out)
    assert "cross-validated" in result.info.scoring
    # the members were not cross-validated: the stacker is fitted on validation predictions
    assert read_ensemble_info(out).fitted_on == "validation predictions"
    assert read_run_info(out).metrics["ensemble"]["fitted_on"] == "validation predictions"
    assert result.images == len(load_predictions(runs["good"]).files)
    report = write_report(out, tmp_path / "report.html").read_text(encoding="utf-8")
    table = report[report.index('<table id="ensemble">'):]
    table = table[:table.index("</table>")]
    for name in ("good", "poor", "wide", "ensemble (stacking)"):
        assert f"<td>{name}</td>" in table
    assert f"{result.accuracy:.1%}" in table


def test_stacking_fits_on_the_members_out_of_fold_predictions_when_they_have_them(
        runs, tmp_path: Path, capsys) -> None:
    members = []
    for name in ("good", "poor"):  # each run, with its recipe's cross-validation beside it
        member = tmp_path / name
        shutil.copytree(runs[name], member)
        recipe = Recipe.load(RunFolder.at(member).recipe)
        cv = cross_validate(recipe.replace(folds=2, out_dir=str(tmp_path / f"cv-{name}")))
        shutil.copy(RunFolder.at(cv.run_dir).oof_predictions, RunFolder.at(member).oof_predictions)
        members.append(member)
    out = tmp_path / "ens"
    assert main(["ensemble", *map(str, members), "--method", "stacking", "--out",
                 str(out)]) == 0
    assert "out-of-fold predictions of" in capsys.readouterr().out
    assert read_ensemble_info(out).fitted_on == "out-of-fold predictions"
    assert read_run_info(out).metrics["ensemble"]["fitted_on"] == "out-of-fold predictions"
    # The stacker is scikit-learn's, fitted on the out-of-fold rows of the images the ensemble
    # is not scored on, and applied to the members' validation probabilities.
    stored = [load_predictions(m) for m in members]
    validation = stored[0].files
    classes = read_run_info(members[0]).model.classes
    oof = [{r.path: r for r in read_oof_predictions(m)[0]} for m in members]
    fitted_on = sorted(set(oof[0]) - set(validation))
    assert fitted_on and len(fitted_on) + len(validation) == len(oof[0])
    oof_members = np.array([[rows[f].probabilities for f in fitted_on] for rows in oof])
    oof_targets = np.array([classes.index(oof[0][f].label) for f in fitted_on])
    val_members = np.stack([s.probabilities(read_run_info(m).saved_epoch())
                            for s, m in zip(stored, members, strict=True)])
    expected = fit_stacker(oof_members, oof_targets).predict_proba(stack_features(val_members))
    np.testing.assert_allclose(load_predictions(out).probabilities(1), expected, atol=1e-5)


def test_runs_with_different_classes_are_refused(runs, tmp_path, capsys) -> None:
    out = tmp_path / "ens"
    assert main(["ensemble", str(runs["good"]), str(runs["other"]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "do not share classes" in err
    assert "Traceback" not in err
    assert not out.exists()  # nothing left behind
    assert main(["ensemble", str(runs["good"]), "--out", str(out)]) == 2
    assert "at least two runs" in capsys.readouterr().err


def test_nested_ensembles_and_writing_over_a_member_are_refused(runs, tmp_path,
                                                               capsys) -> None:
    out = tmp_path / "ens"
    build_ensemble([runs["good"], runs["poor"]], "average", out)
    assert main(["ensemble", str(out), str(runs["good"]), "--out", str(tmp_path / "e2")]) == 2
    assert "itself an ensemble" in capsys.readouterr().err
    assert main(["ensemble", str(runs["good"]), str(runs["poor"]), "--out", str(runs["poor"]),
                 "--overwrite"]) == 2
    assert "one of the runs to combine" in capsys.readouterr().err
    assert load_predictor(runs["poor"]).classes  # the member is untouched


def test_members_validated_on_other_images_are_scored_on_those_shared(runs, tmp_path) -> None:
    result = build_ensemble([runs["good"], runs["resplit"]], "average", tmp_path / "ens")
    good = set(load_predictions(runs["good"]).files)
    resplit = set(load_predictions(runs["resplit"]).files)
    assert good != resplit
    assert set(load_predictions(tmp_path / "ens").files) == good & resplit
    assert result.images == len(good & resplit)
    assert "validation sets differ" in result.note


def test_predict_and_report_accept_an_ensemble_folder(runs, tmp_path, capsys) -> None:
    out = tmp_path / "ens"
    build_ensemble([runs["good"], runs["wide"]], "average", out)
    image = next((Path(read_run_info(runs["good"]).recipe.data_dir) / "green").iterdir())
    assert main(["predict", str(out), str(image), "--json"]) == 0
    [prediction] = json.loads(capsys.readouterr().out)
    assert prediction["label"] in CLASSES
    assert main(["report", str(out), "--out", str(tmp_path / "r.html")]) == 0
    assert "validation images its members share" in (tmp_path / "r.html").read_text()


def test_an_ensemble_with_a_knn_member_predicts_as_its_members_average(runs, tmp_path,
                                                                        capsys) -> None:
    # It used to be written, then refused by predict and export: its kNN member's stored
    # features did not fit the linear head the ensemble's loader built for every member.
    out = tmp_path / "ens"
    build_ensemble([runs["good"], runs["knn"]], "average", out)
    image = next((Path(read_run_info(runs["good"]).recipe.data_dir) / "green").iterdir())
    assert main(["predict", str(out), str(image), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["label"] in CLASSES
    batch = _images(16)
    members = [load_predictor(runs[name]).predict_tensor(batch) for name in ("good", "knn")]
    np.testing.assert_allclose(load_predictor(out).predict_tensor(batch),
                               np.mean(members, axis=0), atol=1e-6)
    # Exported like a kNN run: every format but Core ML, which says why as for a kNN run.
    exported = load_predictor(export_run(out, "onnx").path)
    np.testing.assert_allclose(exported.predict_tensor(batch), np.mean(members, axis=0),
                               atol=1e-4)
    with pytest.raises(ExportError, match="k-nearest-neighbours head needs"):
        export_run(out, "coreml")


def _run_cli(capsys, argv: list[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out
