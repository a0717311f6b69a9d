"""Multinomial logistic regression on named, standardised features, stored as JSON.

p(class | x) = softmax((W z + b) / T) with z = (x - mean) / scale: one weight per class and
feature, so every probability can be read back as a sum of named contributions. Fitted by
L-BFGS on the mean cross-entropy plus an L2 penalty; the temperature T is then fitted on
out-of-fold predictions so the probabilities are calibrated.
"""

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize, minimize_scalar
from scipy.special import log_softmax, softmax

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
MIN_SCALE: Final = 1e-6


@dataclass(frozen=True)
class SoftmaxModel:
    features: tuple[str, ...]
    classes: tuple[str, ...]
    mean: FloatArray
    scale: FloatArray
    coef: FloatArray
    """(classes, features) weights on standardised features."""
    intercept: FloatArray
    temperature: float = 1.0

    def standardise(self, x: FloatArray) -> FloatArray:
        return (x - self.mean) / self.scale

    def logits(self, x: FloatArray) -> FloatArray:
        return (self.standardise(x) @ self.coef.T + self.intercept) / self.temperature

    def proba(self, x: FloatArray) -> FloatArray:
        """(n, classes) probabilities of feature rows `x` (n, features)."""
        return softmax(self.logits(np.atleast_2d(x)), axis=1)

    def contributions(self, x: FloatArray, against: int) -> FloatArray:
        """(classes, features): each feature's share of each class's log-odds against class
        `against` for one row `x`."""
        z = self.standardise(x)
        return (self.coef - self.coef[against]) * z / self.temperature

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "classes": list(self.classes),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
            "temperature": self.temperature,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "SoftmaxModel":
        return cls(
            tuple(doc["features"]),
            tuple(doc["classes"]),
            np.array(doc["mean"], dtype=float),
            np.array(doc["scale"], dtype=float),
            np.array(doc["coef"], dtype=float),
            np.array(doc["intercept"], dtype=float),
            float(doc["temperature"]),
        )


def fit_weights(
    z: FloatArray, y: IntArray, n_classes: int, l2: float
) -> tuple[FloatArray, FloatArray]:
    """Weights (classes, features) and intercepts minimising the mean cross-entropy of
    standardised rows `z` with labels `y`, plus `l2`/2 times the squared weights."""
    n, d = z.shape
    onehot = np.eye(n_classes)[y]

    def loss(params: FloatArray) -> tuple[float, FloatArray]:
        w = params[: n_classes * d].reshape(n_classes, d)
        b = params[n_classes * d :]
        logp = log_softmax(z @ w.T + b, axis=1)
        value = -float(np.sum(onehot * logp)) / n + 0.5 * l2 * float(np.sum(w * w))
        residual = (np.exp(logp) - onehot) / n
        grad_w = residual.T @ z + l2 * w
        grad_b = residual.sum(axis=0)
        return value, np.concatenate([grad_w.ravel(), grad_b])

    start = np.zeros(n_classes * (d + 1))
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    params = np.asarray(result.x, dtype=float)
    return params[: n_classes * d].reshape(n_classes, d), params[n_classes * d :]


def fit_temperature(logits: FloatArray, y: IntArray) -> float:
    """The temperature minimising the negative log-likelihood of out-of-fold `logits`."""

    def nll(log_t: float) -> float:
        logp: FloatArray = log_softmax(logits / float(np.exp(log_t)), axis=1)
        return -float(np.mean(logp[np.arange(y.size), y]))

    result = minimize_scalar(nll, bounds=(np.log(0.2), np.log(5.0)), method="bounded")
    return float(np.exp(result.x))


def fit_softmax(
    x: FloatArray,
    y: IntArray,
    features: tuple[str, ...],
    classes: tuple[str, ...],
    *,
    l2: float = 0.01,
    folds: int = 5,
    seed: int = 0,
    groups: IntArray | None = None,
) -> SoftmaxModel:
    """Fit on rows `x` (n, features) with labels `y` (indices into `classes`); rows of one
    `groups` value (a subject and its mirror image) stay in one fold of the temperature fit."""
    mean = x.mean(axis=0)
    scale = np.maximum(x.std(axis=0), MIN_SCALE)
    z = (x - mean) / scale
    k = len(classes)
    group = np.arange(y.size) if groups is None else groups
    unique = np.random.default_rng(seed).permutation(np.unique(group))
    out_of_fold = np.zeros((y.size, k))
    for fold in range(folds):
        test = np.flatnonzero(np.isin(group, unique[fold::folds]))
        train = np.flatnonzero(~np.isin(group, unique[fold::folds]))
        w, b = fit_weights(z[train], y[train], k, l2)
        out_of_fold[test] = z[test] @ w.T + b
    temperature = fit_temperature(out_of_fold, y)
    w, b = fit_weights(z, y, k, l2)
    return SoftmaxModel(features, classes, mean, scale, w, b, temperature)
