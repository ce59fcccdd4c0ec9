"""Domain adaptation in a fit: every method end to end on tiny data, target accuracy in the
metrics, auto's choice, the gradient reversal, and an adapted model's export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from imagefolders import write_class_folders
from PIL import Image

from tlstudio.cli import main
from tlstudio.errors import RecipeError
from tlstudio.recipe import Recipe
from tlstudio.training import fit

CLASSES = {"red": 6, "green": 6, "blue": 6}


def shifted_copy(source: Path, target: Path, flat: bool = False) -> Path:
    """The same images darker and with a colour cast; `flat` drops the class folders."""
    for path in sorted(source.rglob("*.png")):
        pixels = np.asarray(Image.open(path), dtype=np.float32)
        shifted = np.clip(pixels * 0.5 + np.array([40, 20, 0]), 0, 255).astype(np.uint8)
        name = f"{path.parent.name}-{path.name}" if flat else f"{path.parent.name}/{path.name}"
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(shifted).save(target / name)
    return target


@pytest.fixture
def domains(tmp_path: Path) -> tuple[Path, Path, Path]:
    source = write_class_folders(tmp_path / "source", CLASSES)
    target = shifted_copy(write_class_folders(tmp_path / "t", CLASSES, seed=1),
                          tmp_path / "target", flat=True)
    labelled = shifted_copy(write_class_folders(tmp_path / "tv", CLASSES, seed=2),
                            tmp_path / "target_val")
    return source, target, labelled


def recipe(tmp_path: Path, domains, adapt: str, epochs: int = 1, **changes) -> Recipe:
    source, target, labelled = domains
    return Recipe(data_dir=str(source), out_dir=str(tmp_path / f"run-{adapt}"),
                  backbone="tiny_cnn", epochs=epochs, image_size=16, batch_size=8, val_split=0.25,
                  target_dir=str(target), target_val_dir=str(labelled), adapt=adapt, **changes)


@pytest.mark.parametrize(("adapt", "freeze"), [
    ("none", None), ("adabn", None), ("align", None), ("coral", None), ("entropy", None),
    ("entropy", "none"), ("dann", "none")])
def test_each_method_trains_and_reports_target_accuracy(tmp_path, domains, adapt, freeze):
    r = recipe(tmp_path, domains, adapt, epochs=2, **({"freeze": freeze} if freeze else {}))
    fit(r)
    metrics = json.loads((Path(r.out_dir) / "metrics.json").read_text())
    assert metrics["adaptation"] == {"method": adapt, "chosen_by": "recipe"}
    assert all(0.0 <= e["target_accuracy"] <= 1.0 for e in metrics["epochs"])
    assert len(metrics["epochs"]) == 2


def test_methods_that_do_not_fit_the_layers_say_why(tmp_path, domains):
    with pytest.raises(RecipeError, match="frozen backbone"):
        fit(recipe(tmp_path, domains, "align", freeze="none"))
    with pytest.raises(RecipeError, match="stages of the backbone that train"):
        fit(recipe(tmp_path, domains, "dann"))


def test_adapting_needs_target_images_and_auto_a_labelled_folder(tmp_path, domains):
    with pytest.raises(RecipeError, match="target images"):
        Recipe(data_dir=str(domains[0]), adapt="adabn")
    with pytest.raises(RecipeError, match="labelled target folder"):
        Recipe(data_dir=str(domains[0]), target_dir=str(domains[1]), adapt="auto")
    # A labelled target folder alone was ignored: no target accuracy, and no word of why.
    with pytest.raises(RecipeError, match="choose the target images"):
        Recipe(data_dir=str(domains[0]), target_val_dir=str(domains[1]))


def test_adabn_saves_the_target_statistics_and_align_folds_them_into_the_head(tmp_path, domains):
    from tlstudio.runs import load_weights

    plain = recipe(tmp_path, domains, "none")
    fit(plain)
    for adapt, changed in (("adabn", "running_mean"), ("align", "head.bias")):
        r = recipe(tmp_path, domains, adapt)
        fit(r)
        before = load_weights(Path(plain.out_dir) / "model.safetensors")
        after = load_weights(Path(r.out_dir) / "model.safetensors")
        keys = [k for k in before if k.endswith(changed)]
        assert keys and any(not torch.allclose(before[k], after[k]) for k in keys), adapt


def test_auto_picks_a_method_by_target_accuracy_from_the_cli(tmp_path, domains, capsys):
    source, target, labelled = domains
    out = tmp_path / "auto"
    code = main(["train", str(source), "--backbone", "tiny_cnn", "--epochs", "1",
                 "--image-size", "16", "--batch-size", "8", "--out", str(out),
                 "--target", str(target), "--target-val", str(labelled), "--adapt", "auto"])
    assert code == 0
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "target accuracy" in printed and "Auto adaptation chose" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    adaptation = metrics["adaptation"]
    assert adaptation["chosen_by"] == "target_accuracy"
    assert adaptation["method"] in adaptation["candidates"]
    best = max(adaptation["candidates"].values())
    assert adaptation["candidates"][adaptation["method"]] == best
    assert json.loads((out / "recipe.json").read_text())["adapt"] == adaptation["method"]


def test_gradient_reversal_flips_the_gradient_sign():
    from tlstudio.training.adapt_methods import reverse_gradient

    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 1)
    x = torch.randn(5, 4)
    grads = []
    for reverse in (False, True):
        layer.zero_grad()
        features = x.clone().requires_grad_(True)
        inputs = reverse_gradient(features, 0.5) if reverse else features
        layer(inputs).sum().backward()
        grads.append(features.grad.clone())
    assert torch.allclose(grads[1], -0.5 * grads[0])
    assert grads[0].abs().sum() > 0


@pytest.mark.parametrize("adapt", ["adabn", "align"])
def test_an_adapted_export_matches_pytorch_on_target_images(tmp_path, domains, adapt):
    from tlstudio.export import export_run

    r = recipe(tmp_path, domains, adapt)
    fit(r)
    targets = sorted(str(p) for p in domains[1].glob("*.png"))[:4]
    result = export_run(r.out_dir, "onnx", check_images=targets)
    assert result.checked and result.check_images == 4
    assert result.max_abs_diff is not None and result.max_abs_diff < 1e-4


@pytest.mark.parametrize("adapt", ["adabn", "align"])
def test_the_reported_target_accuracy_is_the_saved_models(tmp_path, domains, adapt):
    """What metrics.json says of the target is what the saved (adapted) model does there."""
    from tlstudio.inference import load_predictor

    r = recipe(tmp_path, domains, adapt)
    fit(r)
    reported = json.loads((Path(r.out_dir) / "metrics.json").read_text())["epochs"][0]
    labelled = sorted(domains[2].rglob("*.png"))
    predictions, _ = load_predictor(r.out_dir).predict_paths([str(p) for p in labelled])
    measured = np.mean([p.label == Path(p.path).parent.name for p in predictions])
    assert reported["target_accuracy"] == pytest.approx(measured, abs=1e-6)
