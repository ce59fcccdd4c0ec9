"""Evaluate a run on its validation images, or on any labelled folder: metrics plus one
record per image (prediction, confidence, loss, top 5) for galleries and matrix cells.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlstudio.data import DatasetScan, SkippedFile, scan_folder, stratified_split
from tlstudio.errors import EvaluationError, PredictionsError, Remedy
from tlstudio.evaluation.metrics import Evaluation, evaluate_predictions
from tlstudio.inference import Predictor, load_predictor
from tlstudio.recipe import Recipe
from tlstudio.runs import RunFolder, RunInfo, load_predictions, read_run_info

TOP_K = 5
# -log of this is the loss reported for an image given probability 0 (float32 underflow).
MIN_PROBABILITY = 1e-12


@dataclass(frozen=True)
class ImageRecord:
    path: str  # absolute path of the image
    true: str  # its class, from its folder
    predicted: str  # the most probable class
    confidence: float  # probability of the predicted class
    loss: float  # cross-entropy: -log p(true class)
    top5: tuple[tuple[str, float], ...]  # up to five (class, probability), most probable first

    @property
    def correct(self) -> bool:
        return self.true == self.predicted

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "true": self.true,
            "predicted": self.predicted,
            "confidence": self.confidence,
            "loss": self.loss,
            "top5": [[name, p] for name, p in self.top5],
        }


@dataclass(frozen=True)
class RunEvaluation:
    run_dir: str  # the evaluated run folder
    images: str  # what was evaluated, in words, e.g. "the validation split of /data/pets"
    evaluation: Evaluation  # accuracy, per-class metrics, confusion matrix
    records: tuple[ImageRecord, ...]  # one per readable image, in scan order
    skipped: tuple[SkippedFile, ...]  # files that could not be read at prediction time

    @property
    def classes(self) -> tuple[str, ...]:
        return self.evaluation.classes

    def cell(self, true: str, predicted: str) -> list[ImageRecord]:
        """The images of class `true` predicted as `predicted`: one confusion-matrix cell."""
        for name in (true, predicted):
            if name not in self.classes:
                raise EvaluationError(f"'{name}' is not a class of this run")
        return [r for r in self.records if r.true == true and r.predicted == predicted]

    def top_losses(self, n: int | None = None) -> list[ImageRecord]:
        """Images with the highest loss first: the worst-predicted, mistakes or not."""
        ranked = sorted(self.records, key=lambda r: r.loss, reverse=True)
        return ranked if n is None else ranked[:n]

    def confident_mistakes(self, n: int | None = None) -> list[ImageRecord]:
        """Misclassified images, the most confidently wrong first."""
        wrong = sorted(
            (r for r in self.records if not r.correct), key=lambda r: r.confidence, reverse=True
        )
        return wrong if n is None else wrong[:n]


def evaluate_run(
    run_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None = None,
    predictor: Predictor | None = None,
) -> RunEvaluation:
    """Predict every image of `data_dir` (a folder of class subfolders), or, without it, the
    run's own validation images, and score the predictions.

    The validation split is rebuilt from the run's recipe; if the training folder changed
    since (images added, moved or relabelled), the split is rebuilt from what is there now.
    """
    run = read_run_info(run_dir)
    info = run.require_model()
    if data_dir is not None:
        scan = scan_labelled_folder(data_dir, info.classes)
        images = f"the folder {scan.root}"
    else:
        scan, images = validation_scan(run)
    predictor = predictor or load_predictor(run_dir)
    if tuple(predictor.classes) != tuple(info.classes):
        raise EvaluationError("The model's classes differ from the run's "
                              f"{RunFolder.at(run_dir).model_info.name}")
    records, skipped = predict_records(predictor, scan)
    if not records:
        raise EvaluationError(f"None of the images of {images} could be read")
    index = {name: i for i, name in enumerate(info.classes)}
    evaluation = evaluate_predictions(
        [index[r.true] for r in records], [index[r.predicted] for r in records], info.classes
    )
    return RunEvaluation(str(run_dir), images, evaluation, tuple(records), tuple(skipped))


def scan_labelled_folder(data_dir: str | os.PathLike[str], classes: tuple[str, ...]) -> DatasetScan:
    """Scan a folder whose subfolders must be (some of) the run's classes."""
    root = Path(data_dir)
    if not root.is_dir():
        raise EvaluationError(f"Folder '{data_dir}' does not exist or is not a folder")
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [name for name in found if name not in classes]
    if unknown or not found:
        listed = ", ".join(f"'{n}'" for n in unknown) or "no class subfolders"
        raise EvaluationError(
            f"The folder '{data_dir}' must hold one subfolder per class of the run "
            f"({', '.join(classes)}); it has {listed}"
        )
    return scan_folder(root, classes=classes)


def validation_scan(run: RunInfo) -> tuple[DatasetScan, str]:
    """The run's validation images, rebuilt from its recipe (an ensemble's: those its members
    shared, as it stored them), and how to name them."""
    if run.folder.is_ensemble():
        return _ensemble_validation(run)
    recipe, classes = _recipe_of(run), run.classes
    if recipe.all_data:
        raise EvaluationError("This run trained on all images: no validation accuracy (no image "
                              "was held out to measure it)", remedies=(Remedy.LABELLED_FOLDER,))
    if recipe.val_dir:
        if not Path(recipe.val_dir).is_dir():
            raise EvaluationError(f"The run's validation folder '{recipe.val_dir}' is gone",
                                  remedies=(Remedy.LABELLED_FOLDER,))
        return scan_labelled_folder(recipe.val_dir, classes), f"the folder {recipe.val_dir}"
    if not Path(recipe.data_dir).is_dir():
        raise EvaluationError(
            f"The run's training folder '{recipe.data_dir}' is gone, so its validation split "
            "cannot be rebuilt", remedies=(Remedy.LABELLED_FOLDER,))
    scan = scan_folder(recipe.data_dir)
    if scan.classes != tuple(classes):
        raise EvaluationError(
            f"The training folder '{recipe.data_dir}' now has the classes "
            f"{', '.join(scan.classes)}, not the run's {', '.join(classes)}",
            remedies=(Remedy.LABELLED_FOLDER,))
    _, val = stratified_split(scan, recipe.val_split, recipe.seed)
    return val, f"the validation split of {scan.root}"


def _ensemble_validation(run: RunInfo) -> tuple[DatasetScan, str]:
    try:
        stored = load_predictions(run.path)
    except PredictionsError as e:
        raise EvaluationError(str(e), remedies=(Remedy.LABELLED_FOLDER,)) from None
    samples = tuple(zip(stored.files, map(int, stored.targets), strict=True))
    root = os.path.commonpath(stored.files) if stored.files else ""
    return (DatasetScan(root, stored.classes, samples),
            "the validation images its members share")


def run_recipe(run_dir: str | os.PathLike[str]) -> Recipe:
    """The run's own recipe, or the copy inside its model's description for a run folder
    without one."""
    return _recipe_of(read_run_info(run_dir))


def _recipe_of(run: RunInfo) -> Recipe:
    if run.recipe is None:
        run.require_model()  # no model either: says the folder is not a run
        raise EvaluationError(f"'{run.path}' has no recipe", remedies=(Remedy.LABELLED_FOLDER,))
    return run.recipe


def predict_records(
    predictor: Predictor, scan: DatasetScan
) -> tuple[list[ImageRecord], list[SkippedFile]]:
    paths = [path for path, _ in scan.samples]
    true_of = {path: scan.classes[label] for path, label in scan.samples}
    # All probabilities, not just the top 5: the loss needs p(true class).
    predictions, skipped = predictor.predict_paths(paths, top_k=len(predictor.classes))
    records = [image_record(p.path, true_of[p.path], dict(p.top)) for p in predictions]
    return records, skipped


def image_record(path: str, true: str, probabilities: dict[str, float]) -> ImageRecord:
    """One image's result from its probability for every class."""
    ranked = sorted(probabilities.items(), key=lambda item: item[1], reverse=True)
    predicted, confidence = ranked[0]
    return ImageRecord(
        path=path,
        true=true,
        predicted=predicted,
        confidence=confidence,
        loss=-math.log(max(probabilities[true], MIN_PROBABILITY)),
        top5=tuple(ranked[:TOP_K]),
    )
