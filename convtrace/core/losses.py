"""Losses with mean reduction, as torch's defaults: ``forward(pred, target) -> float``,
``backward() -> dL/dpred``.

BCE and cross-entropy are computed from logits in a numerically stable form, so logits of
±1000 give finite, correct values.
"""

from __future__ import annotations

import numpy as np

from ..i18n import _
from .errors import ShapeError
from .layers._checks import float_array, require_forward


def _same_shape(pred, target, loss: str) -> tuple[np.ndarray, np.ndarray]:
    pred = float_array(pred, f"{loss} prediction")
    target = np.asarray(target)
    if target.shape != pred.shape:
        raise ShapeError(
            _(
                "{loss} target of shape {shape} does not match the prediction's shape {shape2}"
            ).format(loss=loss, shape=target.shape, shape2=pred.shape)
        )
    if not np.issubdtype(target.dtype, np.number) or np.issubdtype(
        target.dtype, np.complexfloating
    ):
        raise ShapeError(
            _("{loss} target must be real numbers, got dtype {dtype}").format(
                loss=loss, dtype=target.dtype
            )
        )
    return pred, target.astype(pred.dtype)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), computed without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


class BCEWithLogitsLoss:
    """Binary cross-entropy on logits z with targets y in [0, 1], averaged over all elements.

    ``L = mean(max(z, 0) - z*y + log(1 + exp(-|z|)))`` (= -[y log σ(z) + (1-y) log(1-σ(z))]);
    ``dL/dz = (σ(z) - y) / numel``. pred and target: the same shape, e.g. (N, 1).
    """

    def __init__(self):
        self._cache = None

    def forward(self, pred, target) -> float:
        z, y = _same_shape(pred, target, "BCEWithLogitsLoss")
        self._cache = (z, y)
        return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))

    def backward(self) -> np.ndarray:
        require_forward(self._cache, "BCEWithLogitsLoss")
        z, y = self._cache
        return (sigmoid(z) - y) / z.dtype.type(z.size)


class MSELoss:
    """Mean squared error: ``L = mean((pred - target)^2)``.

    ``dL/dpred = 2 (pred - target) / numel``; pred and target have the same shape.
    """

    def __init__(self):
        self._cache = None

    def forward(self, pred, target) -> float:
        p, t = _same_shape(pred, target, "MSELoss")
        self._cache = (p, t)
        return float(np.mean((p - t) ** 2))

    def backward(self) -> np.ndarray:
        require_forward(self._cache, "MSELoss")
        p, t = self._cache
        return 2 * (p - t) / p.dtype.type(p.size)


class CrossEntropyLoss:
    """Softmax cross-entropy on logits z: (N, K) with integer class targets y: (N,).

    ``L = mean_n(logsumexp(z[n]) - z[n, y[n]])``, ``dL/dz = (softmax(z) - onehot(y)) / N``.
    """

    def __init__(self):
        self._cache = None

    def forward(self, pred, target) -> float:
        z = float_array(pred, "CrossEntropyLoss logits", ndim=2)
        y = np.asarray(target)
        if y.shape != (z.shape[0],):
            raise ShapeError(
                _(
                    "CrossEntropyLoss target must be class indices of shape "
                    "({shape},), got shape {shape2}"
                ).format(shape=z.shape[0], shape2=y.shape)
            )
        if y.size and not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.equal(np.mod(y, 1), 0)):
                raise ShapeError(_("CrossEntropyLoss targets must be whole class indices"))
        y = y.astype(np.int64)
        k = z.shape[1]
        if y.size and (y.min() < 0 or y.max() >= k):
            raise ShapeError(
                _("CrossEntropyLoss targets must be class indices 0..{k}, got {y}").format(
                    k=k - 1, y=y.tolist()
                )
            )
        shifted = z - z.max(axis=1, keepdims=True)  # exp never overflows after the shift
        log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        log_probs = shifted - log_norm
        self._cache = (np.exp(log_probs), y)
        return float(-np.mean(log_probs[np.arange(len(y)), y]))

    def backward(self) -> np.ndarray:
        require_forward(self._cache, "CrossEntropyLoss")
        probs, y = self._cache
        grad = probs.copy()
        grad[np.arange(len(y)), y] -= 1
        return grad / grad.dtype.type(len(y))
