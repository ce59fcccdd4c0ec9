"""Heads fitted by scikit-learn on the frozen backbone's cached features, in seconds.

Logistic regression and the linear SVM fold into the Classifier's nn.Linear (the feature
standardisation included), so export, predict and report treat the run like any other. The SVM's
probabilities are a softmax of its decision values over a temperature fitted on the training
features (one scalar, so it folds in too). kNN becomes a `KNNHead` holding the features: the
vote of scikit-learn's KNeighborsClassifier (uniform weights) as a module, so the run predicts.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from threadpoolctl import ThreadpoolController
from torch import nn

from tlstudio.models import KNNHead

KNN_NEIGHBOURS = 5
ABSENT_LOGIT = -30.0  # a class with no training image in this fit: never predicted


def fit_head(kind: str, features: torch.Tensor, labels: torch.Tensor, classes: int,
             seed: int) -> nn.Module:
    """The fitted head for ``kind`` (logreg, svm, knn) on (features, labels), on the CPU.

    On one BLAS thread: these fits are small (hundreds of images), and a second thread's
    wake-ups cost far more than it computes (measured on the shared 2-core machine under load:
    LogisticRegression 24-48 ms on one thread, 1.5-2.7 s on two; the SVM 8-18 ms, 19-66 ms)."""
    with _blas().limit(limits=1, user_api="blas"):
        return _fit(kind, features, labels, classes, seed)


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # the BLAS libraries numpy and scipy loaded


def _fit(kind: str, features: torch.Tensor, labels: torch.Tensor, classes: int,
         seed: int) -> nn.Module:
    x = features.detach().float().cpu().numpy()
    y = labels.detach().cpu().numpy()
    if kind == "knn":
        return _knn(x, y, classes)
    scaler = StandardScaler().fit(x)
    xs = scaler.transform(x)
    if kind == "logreg":
        model = LogisticRegression(max_iter=3000, random_state=seed).fit(xs, y)
        weight, bias = _class_rows(model.coef_, model.intercept_, model.classes_, classes)
    elif kind == "svm":
        coef, intercept, present = _linear_svm(xs, y, seed)
        weight, bias = _class_rows(coef, intercept, present, classes)
        scale = _temperature(xs @ weight.T + bias, y)
        weight, bias = weight * scale, bias * scale
    else:
        raise ValueError(f"unknown head {kind!r}")
    return _linear(weight, bias, scaler)


def _linear_svm(xs: np.ndarray, y: np.ndarray, seed: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LinearSVC's (coef, intercept, classes). With fewer images than features its dual solver
    runs on the images' coordinates in an orthonormal basis of their own span: the same dual
    problem (the Gram matrix X Xᵀ and every x·w are unchanged), so the same iterations and the
    same coefficients once mapped back (measured: within 1e-7), in about half the time, as each
    step costs the images' count instead of the features' (1,280 for Lite0)."""
    if xs.shape[0] >= xs.shape[1]:
        model = LinearSVC(random_state=seed, max_iter=10000).fit(xs, y)
        return model.coef_, model.intercept_, model.classes_
    basis, _ = np.linalg.qr(xs.T)  # features x images, orthonormal columns
    model = LinearSVC(random_state=seed, max_iter=10000, dual=True).fit(xs @ basis, y)
    return model.coef_ @ basis.T, model.intercept_, model.classes_


def _class_rows(coef: np.ndarray, intercept: np.ndarray, present: np.ndarray, classes: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """One row per class of the run: scikit-learn's binary form (one row for classes_[1]
    against classes_[0]) becomes logits (0, z), whose softmax is its sigmoid."""
    if coef.shape[0] == 1:
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    weight = np.zeros((classes, coef.shape[1]))
    bias = np.full(classes, ABSENT_LOGIT)
    weight[present] = coef
    bias[present] = intercept
    return weight, bias


def _temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The scale of the decision values whose softmax best fits the training labels."""
    def nll(log_scale: float) -> float:
        return -float(log_softmax(logits * np.exp(log_scale), axis=1)[np.arange(len(y)), y]
                      .mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded").x))


def _linear(weight: np.ndarray, bias: np.ndarray, scaler: StandardScaler) -> nn.Linear:
    """W (x - mean) / scale + b as one layer over the raw features."""
    folded_w = weight / scaler.scale_
    folded_b = bias - folded_w @ scaler.mean_
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(folded_w))
        layer.bias.copy_(torch.from_numpy(folded_b))
    return layer


def _knn(x: np.ndarray, y: np.ndarray, classes: int) -> KNNHead:
    k = min(KNN_NEIGHBOURS, len(y))
    votes = np.eye(classes)[y]
    return KNNHead(torch.from_numpy(x), torch.from_numpy(votes), k)
