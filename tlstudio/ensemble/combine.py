"""How members' probabilities become the ensemble's: a plain average, weights chosen on the
validation predictions, or a logistic-regression stacker over them (over the members'
out-of-fold predictions instead, when cross-validation gave every member some).

Whatever is fitted on the validation images is scored out of fold (stratified K-fold on those
images): each image's reported probability comes from weights or a stacker fitted without it,
so the ensemble's metrics are not flattered by fitting and scoring on the same images. The
weights or stacker kept are then fitted on all of them. A stacker fitted on out-of-fold
predictions of other images is scored on the validation images directly: it never saw them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from tlstudio.errors import EnsembleError

METHODS = ("average", "weighted", "stacking")
MAX_FOLDS = 5  # folds of the out-of-fold scoring (fewer when a class has fewer images)
SEED = 0  # the folds' shuffle: the same runs give the same ensemble
SMALLEST = 1e-12  # probabilities floor here inside a log


@dataclass(frozen=True)
class Combination:
    method: str  # one of METHODS
    weights: np.ndarray  # [M] the members' shares of the average, summing to 1 (0 when stacked)
    stacker: torch.nn.Linear | None  # stacking: logits from the concatenated probabilities
    probabilities: np.ndarray  # [N, C] the ensemble's validation probabilities (out of fold
    # when anything was fitted), what its metrics are computed from
    scoring: str  # how those probabilities were obtained, in words
    fitted_on: str = ""  # stacking: FITTED_ON_OUT_OF_FOLD or FITTED_ON_VALIDATION


FITTED_ON_OUT_OF_FOLD = "out-of-fold predictions"
FITTED_ON_VALIDATION = "validation predictions"


def combine(method: str, members: np.ndarray, targets: np.ndarray, classes: int,
            oof: tuple[np.ndarray, np.ndarray] | None = None) -> Combination:
    """The ensemble of `members` ([M, N, C] validation probabilities) by `method`; a stacker
    is fitted on `oof` ([M, K, C] probabilities of other images, [K] their classes)
    when given and holding every class."""
    count = len(members)
    if method == "average":
        weights = np.full(count, 1.0 / count)
        return Combination(method, weights, None, mix(members, weights),
                           "the members' validation probabilities, averaged (nothing fitted)")
    if method == "weighted":
        folds = _folds(targets, classes, every_class=False)
        scored = out_of_fold(choose_weights, lambda w, held_out: mix(held_out, w), members,
                             targets, folds)
        return Combination(method, choose_weights(members, targets), None, scored,
                           f"{folds}-fold cross-validated on the validation images: each image "
                           "scored with weights chosen without it")
    if method == "stacking" and _every_class(oof, classes):
        oof_members, oof_targets = oof
        stacker = fit_stacker(oof_members, oof_targets)
        return Combination(method, np.zeros(count), stacker_layer(stacker, classes),
                           stacker_probabilities(stacker, members),
                           f"a stacker fitted on the members' out-of-fold predictions of "
                           f"{len(oof_targets)} other images (cross-validation), scored on "
                           "the validation images it never saw", FITTED_ON_OUT_OF_FOLD)
    if method == "stacking":
        folds = _folds(targets, classes, every_class=True)
        scored = out_of_fold(fit_stacker, stacker_probabilities, members, targets, folds)
        stacker = fit_stacker(members, targets)
        return Combination(method, np.zeros(count), stacker_layer(stacker, classes), scored,
                           f"{folds}-fold cross-validated on the validation images: each image "
                           "scored by a stacker fitted without it", FITTED_ON_VALIDATION)
    raise EnsembleError(f"Unknown ensemble method '{method}': choose one of {', '.join(METHODS)}")


def _every_class(oof: tuple[np.ndarray, np.ndarray] | None, classes: int) -> bool:
    """Out-of-fold predictions a stacker can be fitted on: every class among their images."""
    return oof is not None and len(np.unique(oof[1])) == classes


def mix(members: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted average of the members' probabilities ([M, N, C] -> [N, C])."""
    return np.tensordot(np.asarray(weights, dtype=np.float64), members, axes=1)


def choose_weights(members: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The members' shares (non-negative, summing to 1) that minimise the cross-entropy of
    their weighted average on these images."""
    count = len(members)
    truth = members[:, np.arange(len(targets)), targets].astype(np.float64)  # [M, N]

    def loss(weights: np.ndarray) -> float:
        return float(-np.mean(np.log(np.maximum(weights @ truth, SMALLEST))))

    found = minimize(loss, np.full(count, 1.0 / count), method="SLSQP",
                     bounds=[(0.0, 1.0)] * count,
                     constraints=({"type": "eq", "fun": lambda w: np.sum(w) - 1.0},))
    weights = np.clip(found.x, 0.0, None)
    return weights / weights.sum()


def stack_features(members: np.ndarray) -> np.ndarray:
    """Each image's members' probabilities side by side ([M, N, C] -> [N, M * C])."""
    return np.transpose(members, (1, 0, 2)).reshape(members.shape[1], -1)


def fit_stacker(members: np.ndarray, targets: np.ndarray) -> LogisticRegression:
    """A logistic regression from the members' probabilities to the class (scikit-learn:
    a well-tested, regularised fit that needs no tuning on a few hundred images)."""
    return LogisticRegression(max_iter=2000).fit(stack_features(members), targets)


def stacker_probabilities(stacker: LogisticRegression, members: np.ndarray) -> np.ndarray:
    return stacker.predict_proba(stack_features(members))


def stacker_layer(stacker: LogisticRegression, classes: int) -> torch.nn.Linear:
    """The fitted regression as a linear layer whose softmax gives its probabilities
    (a two-class regression has one row: the other class's logit is 0)."""
    coef, intercept = stacker.coef_, stacker.intercept_
    if coef.shape[0] == 1:
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.array([0.0, intercept[0]])
    layer = torch.nn.Linear(coef.shape[1], classes)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(coef).float())
        layer.bias.copy_(torch.from_numpy(intercept).float())
    return layer


def out_of_fold(fit: Callable[[np.ndarray, np.ndarray], Any],
                predict: Callable[[Any, np.ndarray], np.ndarray],
                members: np.ndarray, targets: np.ndarray, folds: int) -> np.ndarray:
    """Each image's ensemble probabilities from a combination fitted on the other folds."""
    scored = np.zeros(members.shape[1:], dtype=np.float64)
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for fitted_on, held_out in split.split(np.zeros(len(targets)), targets):
        combination = fit(members[:, fitted_on], targets[fitted_on])
        scored[held_out] = predict(combination, members[:, held_out])
    return scored


def _folds(targets: np.ndarray, classes: int, every_class: bool) -> int:
    """As many folds as the rarest class allows, at most MAX_FOLDS; EnsembleError below 2."""
    counts = np.bincount(targets, minlength=classes)
    present = counts if every_class else counts[counts > 0]
    folds = int(min(MAX_FOLDS, present.min()))
    if folds < 2:
        need = "every class" if every_class else "each class present"
        raise EnsembleError(f"Fitting the ensemble needs at least two validation images of "
                            f"{need}, to score it on images it was not fitted on; it has "
                            f"{int(present.min())}. Use the average method, or validate the "
                            "runs on more images")
    return folds
