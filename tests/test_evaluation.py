"""Evaluation core: metrics against hand counting, evaluating a run, Grad-CAM localisation."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from imagefolders import train_tiny_run, write_class_folders
from PIL import Image

from tlstudio.data import scan_folder, stratified_split
from tlstudio.errors import SaliencyError
from tlstudio.evaluation import (
    EvaluationError,
    evaluate_predictions,
    evaluate_run,
    grad_cam,
    last_conv_layer,
    overlay,
)
from tlstudio.failures import FrontEnd, describe_failure
from tlstudio.models.classifier import build_classifier
from tlstudio.recipe import Recipe

CLASSES = {"red": 8, "green": 8, "blue": 8}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return train_tiny_run(tmp_path_factory.mktemp("run"), CLASSES)


def by_hand(y_true: list[int], y_pred: list[int], n: int) -> dict[str, list]:
    """Precision, recall, F1, support per class with plain counting; None where undefined
    (no images of the class: no recall or F1; no precision unless it was predicted)."""
    out: dict[str, list] = {"precision": [], "recall": [], "f1": [], "support": []}
    for c in range(n):
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == c and p == c)
        predicted = sum(1 for p in y_pred if p == c)
        actual = sum(1 for t in y_true if t == c)
        precision = tp / predicted if predicted else (0.0 if actual else None)
        recall = tp / actual if actual else None
        if recall is None:
            f1 = None
        else:
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out["precision"].append(precision)
        out["recall"].append(recall)
        out["f1"].append(f1)
        out["support"].append(actual)
    return out


def test_metrics_match_hand_counting() -> None:
    # class 3 ("never") is never predicted and has no images; class 2 is never predicted right.
    y_true = [0, 0, 0, 0, 1, 1, 1, 2, 2, 0, 1, 2]
    y_pred = [0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1]
    classes = ["cat", "dog", "fox", "never"]
    ev = evaluate_predictions(y_true, y_pred, classes)
    hand = by_hand(y_true, y_pred, len(classes))

    right = sum(t == p for t, p in zip(y_true, y_pred, strict=True))
    assert ev.accuracy == pytest.approx(right / 12)
    assert [r.name for r in ev.per_class] == classes
    for i, row in enumerate(ev.per_class):
        assert row.precision == pytest.approx(hand["precision"][i])
        assert row.recall == pytest.approx(hand["recall"][i])
        assert row.f1 == pytest.approx(hand["f1"][i])
        assert row.support == hand["support"][i]
    assert ev.per_class[3].recall is None and ev.per_class[3].precision is None
    # The averages are over the three classes with images; "never" is left out.
    assert ev.macro.f1 == pytest.approx(sum(hand["f1"][:3]) / 3)
    assert ev.macro.precision == pytest.approx(sum(hand["precision"][:3]) / 3)
    weights = hand["support"][:3]
    assert ev.weighted.recall == pytest.approx(
        sum(r * w for r, w in zip(hand["recall"][:3], weights, strict=True)) / sum(weights)
    )
    assert ev.weighted.f1 == pytest.approx(
        sum(f * w for f, w in zip(hand["f1"][:3], weights, strict=True)) / sum(weights)
    )
    counts = [[0] * 4 for _ in range(4)]
    for t, p in zip(y_true, y_pred, strict=True):
        counts[t][p] += 1
    assert [list(row) for row in ev.confusion] == counts
    assert ev.to_dict()["confusion_matrix"] == counts
    assert ev.total == 12


def test_averages_leave_out_classes_without_images() -> None:
    # A folder holding 3 of the run's 5 classes. "fox" has no images but is predicted once
    # (that prediction is wrong, so its precision is 0); "owl" has none and is never predicted.
    classes = ["cat", "dog", "fox", "owl", "yak"]
    y_true = [0, 0, 0, 0, 1, 1, 4, 4]
    y_pred = [0, 0, 0, 2, 1, 0, 4, 1]
    ev = evaluate_predictions(y_true, y_pred, classes)

    # Worked out on paper: cat 3 of 4 found, 3 of its 4 predictions right; dog 1 of 2 and
    # 1 of 2; yak 1 of 2 found, its one prediction right.
    rows = {r.name: (r.precision, r.recall, r.f1, r.support) for r in ev.per_class}
    assert rows["cat"] == pytest.approx((0.75, 0.75, 0.75, 4))
    assert rows["dog"] == pytest.approx((0.5, 0.5, 0.5, 2))
    assert rows["yak"] == pytest.approx((1.0, 0.5, 2 / 3, 2))
    assert rows["fox"] == (0.0, None, None, 0)
    assert rows["owl"] == (None, None, None, 0)
    assert ev.accuracy == pytest.approx(5 / 8)
    # Macro: plain means over cat, dog, yak (over all 5 classes it would be 0.45/0.35/0.38).
    macro = (ev.macro.precision, ev.macro.recall, ev.macro.f1)
    assert macro == pytest.approx(((0.75 + 0.5 + 1) / 3, (0.75 + 0.5 + 0.5) / 3,
                                   (0.75 + 0.5 + 2 / 3) / 3))
    # Weighted by 4, 2, 2 images.
    weighted = (ev.weighted.precision, ev.weighted.recall, ev.weighted.f1)
    assert weighted == pytest.approx(((4 * 0.75 + 2 * 0.5 + 2 * 1) / 8, 5 / 8,
                                      (4 * 0.75 + 2 * 0.5 + 2 * 2 / 3) / 8))
    assert ev.macro.support == ev.weighted.support == 8
    assert ev.absent_classes == ("fox", "owl")
    assert ev.absent_note().startswith("No images of: fox, owl.")
    # The confusion matrix keeps every class.
    assert len(ev.confusion) == 5 and all(len(row) == 5 for row in ev.confusion)
    assert ev.confusion[0][2] == 1 and ev.confusion[3] == (0, 0, 0, 0, 0)
    # Undefined numbers are null in JSON, not 0.
    as_json = json.loads(json.dumps(ev.to_dict()))
    fox, owl = as_json["per_class"][2], as_json["per_class"][3]
    assert (fox["precision"], fox["recall"], fox["f1"]) == (0.0, None, None)
    assert (owl["precision"], owl["recall"], owl["f1"]) == (None, None, None)
    assert as_json["macro_avg"]["f1"] == pytest.approx(macro[2])


def test_every_class_present_has_no_note_and_no_undefined_numbers() -> None:
    ev = evaluate_predictions([0, 1, 1], [0, 1, 0], ["a", "b"])
    assert ev.absent_classes == () and ev.absent_note() == ""
    assert all(None not in (r.precision, r.recall, r.f1) for r in ev.per_class)
    assert ev.macro.recall == pytest.approx((1 + 0.5) / 2)


def test_metrics_reject_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        evaluate_predictions([0, 1], [0], ["a", "b"])


def test_evaluate_run_on_its_validation_split(trained_run: tuple[Path, Path]) -> None:
    run, data = trained_run
    result = evaluate_run(run)
    _, val = stratified_split(scan_folder(data), 0.25, 0)
    assert sorted(r.path for r in result.records) == sorted(p for p, _ in val.samples)
    assert result.classes == ("blue", "green", "red")
    for r in result.records:
        assert r.true == Path(r.path).parent.name
        assert r.predicted == r.top5[0][0] and r.confidence == r.top5[0][1]
        p_true = dict(r.top5)[r.true]  # three classes: the top 5 holds them all
        assert r.loss == pytest.approx(-math.log(p_true), rel=1e-5)
    ev = result.evaluation
    assert ev.total == len(result.records)
    assert ev.accuracy == pytest.approx(np.mean([r.correct for r in result.records]))
    losses = [r.loss for r in result.top_losses()]
    assert losses == sorted(losses, reverse=True)
    assert len(result.top_losses(2)) == 2


def test_cell_returns_exactly_the_matching_images(
    trained_run: tuple[Path, Path], tmp_path: Path
) -> None:
    run, _ = trained_run
    # Folder names in another order than the colours: "blue" holds red images, and so on,
    # so most predictions land off the diagonal.
    swapped = write_class_folders(tmp_path / "swapped", {"blue": 4, "red": 3, "green": 2})
    result = evaluate_run(run, swapped)
    assert len(result.records) == 9
    for i, true in enumerate(result.classes):
        for j, predicted in enumerate(result.classes):
            cell = result.cell(true, predicted)
            expected = {
                r.path
                for r in result.records
                if Path(r.path).parent.name == true and r.predicted == predicted
            }
            assert {r.path for r in cell} == expected
            assert len(cell) == result.evaluation.confusion[i][j]
    with pytest.raises(EvaluationError):
        result.cell("purple", "red")
    mistakes = result.confident_mistakes()
    assert all(not m.correct for m in mistakes)
    assert [m.confidence for m in mistakes] == sorted(
        (m.confidence for m in mistakes), reverse=True
    )


def test_evaluate_run_rejects_a_folder_with_other_classes(
    trained_run: tuple[Path, Path], tmp_path: Path
) -> None:
    run, _ = trained_run
    other = write_class_folders(tmp_path / "other", {"red": 2, "purple": 2})
    with pytest.raises(EvaluationError, match="purple"):
        evaluate_run(run, other)


def test_evaluate_run_says_when_the_training_folder_is_gone(
    trained_run: tuple[Path, Path], tmp_path: Path
) -> None:
    run, _ = trained_run
    moved = tmp_path / "run"
    moved.mkdir()
    for name in ("model.json", "model.safetensors"):
        (moved / name).write_bytes((run / name).read_bytes())
    recipe = Recipe.load(run / "recipe.json").replace(data_dir=str(tmp_path / "nowhere"))
    recipe.save(moved / "recipe.json")
    with pytest.raises(EvaluationError, match="is gone") as gone:
        evaluate_run(moved)
    assert describe_failure(gone.value, FrontEnd.CLI).endswith(
        "; give a labelled folder to evaluate on with --data")
    assert "Another labelled folder…" in describe_failure(gone.value, FrontEnd.WINDOW)


SIZE, SQUARE = 40, 10


def squares(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, list]:
    """Dark noise; class 1 has a bright square at a random place, class 0 has none."""
    images = torch.rand(n, 3, SIZE, SIZE, generator=generator) * 0.3
    labels = torch.randint(0, 2, (n,), generator=generator)
    corners = []
    for i in range(n):
        r, c = torch.randint(0, SIZE - SQUARE + 1, (2,), generator=generator).tolist()
        corners.append((r, c))
        if labels[i] == 1:
            images[i, :, r : r + SQUARE, c : c + SQUARE] = 1.0
    return images, labels, corners


@pytest.fixture
def one_thread() -> Iterator[None]:
    # Two threads on a busy two-core machine spin and run ten times slower than one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
def test_grad_cam_puts_more_weight_inside_the_object() -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = build_classifier("tiny_cnn", 2, pretrained=False).model
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(50):
        images, labels, _ = squares(16, generator)
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    images, labels, corners = squares(24, generator)
    checked = 0
    for image, label, (r, c) in zip(images, labels, corners, strict=True):
        if label != 1:
            continue
        cam = grad_cam(model, image, class_index=1)
        assert cam.shape == (SIZE, SIZE) and cam.min() >= 0 and cam.max() <= 1
        inside = np.zeros((SIZE, SIZE), dtype=bool)
        inside[r : r + SQUARE, c : c + SQUARE] = True
        assert cam[inside].mean() > 2 * cam[~inside].mean()
        checked += 1
    assert checked >= 5
    assert not model.training  # the model's mode is left as it was


def test_grad_cam_through_a_frozen_model_and_overlay() -> None:
    model = build_classifier("tiny_cnn", 3, pretrained=False).model.train()
    for p in model.parameters():
        p.requires_grad_(False)
    assert last_conv_layer(model) is model.backbone.stage2[0]
    cam = grad_cam(model, torch.rand(1, 3, 32, 32))
    assert cam.shape == (32, 32) and cam.dtype == np.float32
    assert model.training
    picture = Image.new("RGB", (64, 40), (128, 128, 128))
    blended = overlay(picture, cam)
    assert blended.size == (64, 40) and blended.mode == "RGB"


def test_the_overlay_leaves_regions_without_evidence_as_they_are() -> None:
    picture = Image.new("RGB", (20, 10), (200, 200, 200))
    cam = np.zeros((10, 20), dtype=np.float32)
    cam[:, 10:] = 1.0  # all the evidence on the right half
    blended = np.asarray(overlay(picture, cam))
    assert (blended[:, :8] == 200).all()  # left: untouched, not tinted blue
    assert (blended[:, 12:] != 200).any(axis=-1).all()  # right: coloured


def test_a_model_without_convolutions_has_no_saliency_and_says_so() -> None:
    with pytest.raises(SaliencyError, match="no convolutional layer"):
        last_conv_layer(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)))
