"""Scikit-learn heads on the frozen backbone's features (`--head logreg|svm|knn`): they fold into
the model (or, kNN, vote over stored features), predict like any run, and export or refuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from imagefolders import write_class_folders, write_photo_crops
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from tlstudio.data import eval_transform, load_rgb
from tlstudio.errors import ExportError, RecipeError
from tlstudio.export import export_run
from tlstudio.inference import load_predictor, open_onnx
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder, load_model
from tlstudio.training import fit


def _images(folder: Path, size: int) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    classes = sorted(p.name for p in folder.iterdir())
    paths = sorted(str(p) for p in folder.rglob("*.png"))
    labels = np.array([classes.index(Path(p).parent.name) for p in paths])
    transform = eval_transform(size)
    return torch.stack([transform(load_rgb(p)) for p in paths]), labels, paths


def _split(run: Path, paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which of `paths` the run trained on and which it validated on (its stored predictions)."""
    from tlstudio.runs import load_predictions

    val = {str(Path(p).resolve()) for p in load_predictions(run).files}
    is_val = np.array([str(Path(p).resolve()) in val for p in paths])
    return ~is_val, is_val


def test_a_logistic_regression_head_exported_to_onnx_gives_scikit_learns_probabilities(
        tmp_path: Path) -> None:
    data = write_photo_crops(tmp_path / "photos", per_class=10)
    run = tmp_path / "run"
    fit(Recipe(data_dir=str(data), out_dir=str(run), image_size=64, head="logreg", seed=1,
               device="cpu", precision="fp32"))
    onnx = Path(export_run(run, "onnx").path)
    images, labels, paths = _images(data, 64)
    model, _ = load_model(run)
    with torch.inference_mode():
        features = model.features(images).numpy()
    train, val = _split(run, paths)
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, random_state=1))
    reference.fit(features[train], labels[train])
    expected = reference.predict_proba(features[val])
    exported = open_onnx(onnx).predict_tensor(images[val])
    np.testing.assert_allclose(exported, expected, atol=1e-4)
    assert (expected.argmax(1) == labels[val]).mean() >= 0.5  # a real probe; chance is 0.25


def test_svm_and_knn_heads_predict_as_scikit_learn_does_and_knn_exports_like_them(
        tmp_path: Path) -> None:
    data = write_class_folders(tmp_path / "data", {"red": 6, "green": 6, "blue": 6})
    images, labels, paths = _images(data, 16)
    runs = {}
    for head in ("svm", "knn"):
        runs[head] = tmp_path / head
        fit(Recipe(data_dir=str(data), out_dir=str(runs[head]), backbone="tiny_cnn",
                   image_size=16, head=head, val_split=0.34, device="cpu", precision="fp32"))
    train, val = _split(runs["svm"], paths)
    for head, reference in (("svm", make_pipeline(StandardScaler(), LinearSVC(random_state=0))),
                            ("knn", KNeighborsClassifier(n_neighbors=5))):
        model, _ = load_model(runs[head])
        with torch.inference_mode():
            features = model.features(images).numpy()
            ours = model(images[val]).softmax(1).numpy()
        reference.fit(features[train], labels[train])
        assert (ours.argmax(1) == reference.predict(features[val])).all()
        if head == "knn":
            np.testing.assert_allclose(ours, reference.predict_proba(features[val]), atol=1e-4)
    # kNN exports as an ensemble's kNN member does: checked by its runtime, the same votes.
    for fmt in ("onnx", "safetensors"):
        exported = load_predictor(export_run(runs["knn"], fmt).path)
        np.testing.assert_allclose(exported.predict_tensor(images[val]), ours, atol=1e-4)
    # Core ML alone has no operation for it, and says so before converting anything.
    with pytest.raises(ExportError, match="k-nearest-neighbours head needs"):
        export_run(runs["knn"], "coreml")
    assert not RunFolder.at(runs["knn"]).export_file("coreml", ".mlpackage").exists()


def test_an_svm_head_on_fewer_images_than_features_is_scikit_learns_linear_svm() -> None:
    # 40 images, 300 features: the head solves LinearSVC's dual in the images' own span.
    from tlstudio.training.classical_heads import fit_head

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 4)
    features = rng.normal(size=(10, 300))[labels] + rng.normal(size=(40, 300)) * 2
    unseen = rng.normal(size=(10, 300))[labels] + rng.normal(size=(40, 300)) * 2
    head = fit_head("svm", torch.from_numpy(features), torch.from_numpy(labels), 10, seed=0)
    with torch.inference_mode():
        ours = head(torch.from_numpy(unseen).float()).double().numpy()
    reference = make_pipeline(StandardScaler(), LinearSVC(random_state=0, max_iter=10000))
    expected = reference.fit(features, labels).decision_function(unseen)
    scale = float((ours * expected).sum() / (expected * expected).sum())  # the temperature
    np.testing.assert_allclose(ours, scale * expected, atol=1e-4 * np.abs(ours).max())
    assert (ours.argmax(1) == expected.argmax(1)).all()


def test_a_scikit_learn_head_needs_a_frozen_backbone_and_unaugmented_images() -> None:
    with pytest.raises(RecipeError, match="only the head"):
        Recipe(data_dir="d", head="logreg", freeze="none")
    with pytest.raises(RecipeError, match="augmentation"):
        Recipe(data_dir="d", head="svm", augment="light")


def test_the_command_line_trains_a_knn_head_predicts_with_it_and_exports_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tlstudio.cli import main

    data = write_class_folders(tmp_path / "data", {"red": 5, "green": 5})
    run = tmp_path / "run"
    assert main(["train", str(data), "--backbone", "tiny_cnn", "--image-size", "16", "--head",
                 "knn", "--random-weights", "--out", str(run)]) == 0
    assert Recipe.load(RunFolder.at(run).recipe).pretrained is False
    capsys.readouterr()
    assert main(["predict", str(run), str(data / "red" / "000.png"), "--json"]) == 0
    assert '"label": "red"' in capsys.readouterr().out
    assert main(["export", str(run), "--format", "onnx"]) == 0
    assert "Checked by its runtime" in capsys.readouterr().out
    onnx = RunFolder.at(run).export_file("onnx", ".onnx")
    assert main(["predict", str(onnx), str(data / "red" / "000.png"), "--json"]) == 0
    assert '"label": "red"' in capsys.readouterr().out
