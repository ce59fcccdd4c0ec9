"""How far new (target) images are from a run's training images, as the run's model sees them:
a domain classifier's cross-validated accuracy on backbone features (0.5 = indistinguishable),
confidence on validation vs target images, predicted class shares, and a 2-D PCA map whose
points carry their image paths (so a view can show the image of a clicked point)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader

from tlstudio.data import DatasetScan, ImageFolderDataset, eval_transform, scan_images
from tlstudio.devices import resolve_device
from tlstudio.errors import TlstudioError
from tlstudio.runs import load_model, read_run_info
from tlstudio.training import RunControl, extract_features, training_scans

MAX_IMAGES = 400  # per domain: enough for a stable estimate, bounded time on big folders
# (upper bound of domain accuracy, words): the first bound above the accuracy gives the verdict
VERDICTS = (
    (0.6, "no clear shift: the model sees the target images much like its training images"),
    (0.75, "a mild shift: the target images differ a little; accuracy may drop somewhat"),
    (0.9, "a clear shift: the target images differ visibly; expect lower accuracy and "
          "consider adapting the model to them"),
    (1.01, "a strong shift: the target images are easy to tell from the training images; "
           "expect much lower accuracy unless the model is adapted to them"),
)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    domain: str  # "source" (a training image) or "target"
    path: str  # the image, for a view that shows a clicked point
    predicted: str = ""  # the class the run's model predicts for it
    confidence: float = 0.0  # that class's probability
    true: str = ""  # a training image's class (its folder); "" for a target image


@dataclass(frozen=True)
class DomainShift:
    domain_accuracy: float  # cross-validated source-vs-target accuracy; 0.5 = no shift
    verdict: str  # the accuracy in plain words
    source_confidence: float  # mean top probability on the run's validation images (or
    # on its training images when it trained on all of them: see confidence_images)
    target_confidence: float  # the same on the target images
    training_distribution: dict[str, float]  # share of each class among the training images
    target_distribution: dict[str, float]  # share of each predicted class on the target
    source_images: int  # training images compared
    target_images: int
    points: tuple[MapPoint, ...]  # the 2-D PCA map of both
    confidence_images: str = "validation"  # which source images source_confidence is on

    def to_dict(self, with_points: bool = True) -> dict[str, Any]:
        d = {
            "domain_accuracy": self.domain_accuracy,
            "source_confidence": self.source_confidence,
            "confidence_images": self.confidence_images,
            "target_confidence": self.target_confidence,
            "verdict": self.verdict,
            "training_distribution": self.training_distribution,
            "target_distribution": self.target_distribution,
            "source_images": self.source_images,
            "target_images": self.target_images,
        }
        if with_points:
            d["map"] = [dataclasses.asdict(p) for p in self.points]
        return d


def verdict(domain_accuracy: float) -> str:
    return next(words for bound, words in VERDICTS if domain_accuracy < bound)


def measure_shift(run_dir: str | os.PathLike[str], target_dir: str | os.PathLike[str],
                  progress: Progress | None = None, control: RunControl | None = None,
                  max_images: int = MAX_IMAGES, seed: int = 0) -> DomainShift:
    """Compare the run's training images with the images under `target_dir`."""
    info = read_run_info(run_dir)
    model_info = info.require_model()
    if info.recipe is None:
        raise TlstudioError(f"'{run_dir}' has no recipe, so its training images are unknown")
    model, _ = load_model(run_dir)
    device = resolve_device(info.recipe.device)
    model.to(device)
    control = control or RunControl()
    train_scan, val_scan = training_scans(info.recipe, control=control)
    target_scan = scan_images(target_dir)
    rng = np.random.default_rng(seed)
    source = _subset(train_scan, max_images, rng)
    target = _subset(target_scan, max_images, rng)
    features = _Features(model, model_info.image_size, device, progress, control)
    f_source, f_target = features(source, "source"), features(target, "target")
    source_probs, target_probs = _probabilities(model, f_source), _probabilities(model, f_target)
    # A run trained on all images held none out: its confidence is then on training images.
    confidence_images = "validation" if len(val_scan) else "training"
    val_probs = (_probabilities(model, features(_subset(val_scan, max_images, rng), "validation"))
                 if len(val_scan) else source_probs)
    accuracy = domain_accuracy(f_source.numpy(), f_target.numpy(), seed)
    classes = train_scan.classes
    points = pca_map(f_source.numpy(), f_target.numpy(), _paths(source), _paths(target))
    predictions = _predictions(classes, np.concatenate([source_probs, target_probs]))
    truths = [classes[label] for _, label in source.samples] + [""] * len(target)
    return DomainShift(
        accuracy, verdict(accuracy), float(val_probs.max(1).mean()),
        float(target_probs.max(1).mean()), _shares(train_scan.counts()),
        _shares(dict(zip(classes, np.bincount(target_probs.argmax(1),
                                               minlength=len(classes)).tolist(), strict=True))),
        len(source), len(target),
        tuple(dataclasses.replace(point, predicted=name, confidence=p, true=true)
              for point, (name, p), true in zip(points, predictions, truths, strict=True)),
        confidence_images)


def domain_accuracy(source: np.ndarray, target: np.ndarray, seed: int = 0) -> float:
    """Stratified cross-validated accuracy of a logistic regression telling source features
    from target features, on equally many of each (so 0.5 is chance)."""
    n = min(len(source), len(target))
    if n < 2:
        raise TlstudioError("At least two images on each side are needed to measure a shift")
    rng = np.random.default_rng(seed)
    x = np.concatenate([source[rng.permutation(len(source))[:n]],
                        target[rng.permutation(len(target))[:n]]])
    y = np.repeat([0, 1], n)
    folds = StratifiedKFold(min(5, n), shuffle=True, random_state=seed)
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    return float(cross_val_score(probe, x, y, cv=folds, scoring="accuracy").mean())


def pca_map(source: np.ndarray, target: np.ndarray, source_paths: list[str],
            target_paths: list[str]) -> tuple[MapPoint, ...]:
    """Both domains' features projected on the first two principal components of all."""
    both = StandardScaler().fit_transform(np.concatenate([source, target]))
    xy = PCA(2, random_state=0).fit_transform(both) if min(both.shape) >= 2 else np.zeros(
        (len(both), 2))
    domains = ["source"] * len(source) + ["target"] * len(target)
    return tuple(MapPoint(float(a), float(b), d, p) for (a, b), d, p in
                 zip(xy, domains, source_paths + target_paths, strict=True))


class _Features:
    """Backbone features of a scan's images with the run's model and preprocessing."""

    def __init__(self, model, image_size: int, device: torch.device,
                 progress: Progress | None, control: RunControl) -> None:
        self.model, self.image_size, self.device = model, image_size, device
        self.progress, self.control = progress, control

    def __call__(self, scan: DatasetScan, name: str) -> torch.Tensor:
        loader = DataLoader(ImageFolderDataset(scan, eval_transform(self.image_size)),
                            batch_size=32)

        def progress(done: int, total: int) -> None:
            if self.progress is not None:
                self.progress(f"features of the {name} images", done, total)

        features, _ = extract_features(self.model, loader, self.device, progress, self.control)
        return features.cpu()


def _probabilities(model, features: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        head = model.head.cpu()
        return head(features).softmax(1).numpy()


def _predictions(classes: tuple[str, ...], probs: np.ndarray) -> list[tuple[str, float]]:
    return [(classes[i], float(row[i])) for i, row in zip(probs.argmax(1), probs, strict=True)]


def _subset(scan: DatasetScan, limit: int, rng: np.random.Generator) -> DatasetScan:
    if len(scan.samples) <= limit:
        return scan
    keep = sorted(rng.choice(len(scan.samples), limit, replace=False))
    return DatasetScan(scan.root, scan.classes, tuple(scan.samples[i] for i in keep), ())


def _paths(scan: DatasetScan) -> list[str]:
    return [path for path, _ in scan.samples]


def _shares(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values()) or 1
    return {name: n / total for name, n in counts.items()}
