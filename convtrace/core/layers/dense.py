"""Flatten, ReLU and Linear: the fully connected end of the network."""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..geometry import positive_int
from ._checks import check_dout, float_array, kaiming_uniform, require_forward


class Flatten:
    """Flatten every axis but the batch: x: (N, C, H, W) -> (N, C*H*W), row-major as torch."""

    def __init__(self):
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "Flatten input")
        if x.ndim < 2:
            raise ShapeError(f"Flatten input needs a batch axis, got shape {x.shape}")
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C*H*W) -> dx: (N, C, H, W): the same numbers, folded back."""
        require_forward(self._cache, "Flatten")
        x_shape = self._cache
        dout = check_dout(dout, (x_shape[0], int(np.prod(x_shape[1:]))), "Flatten")
        return dout.reshape(x_shape)


class ReLU:
    """ReLU(x) = max(x, 0); its gradient passes where x > 0 and is 0 elsewhere (also at 0)."""

    def __init__(self):
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "ReLU input")
        self._cache = x > 0
        return np.where(self._cache, x, x.dtype.type(0))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: any shape (as the input) -> dx = dout * [x > 0]."""
        require_forward(self._cache, "ReLU")
        dout = check_dout(dout, self._cache.shape, "ReLU")
        return np.where(self._cache, dout, dout.dtype.type(0))


class Linear:
    """Fully connected layer: z = x @ W^T + b, with W: (out, in) as torch.

    Shapes: x: (N, in) -> z: (N, out). Backward, given dz: (N, out)::

        dW = dz^T @ x   (out, in)      db = sum_n dz[n]   (out,)      dx = dz @ W   (N, in)

    Missing weight/bias use torch.nn.Linear's initialisation, U(-1/sqrt(in), +1/sqrt(in)),
    from ``numpy.random.default_rng(seed)``.
    """

    def __init__(self, in_features: int, out_features: int, *, weight=None, bias=None, seed=None):
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        rng = np.random.default_rng(seed)
        if weight is None:
            weight = kaiming_uniform(rng, (self.out_features, self.in_features), self.in_features)
        if bias is None:
            bias = kaiming_uniform(rng, (self.out_features,), self.in_features)
        self.weight = float_array(weight, "Linear weight", ndim=2)
        self.bias = float_array(bias, "Linear bias")
        if self.weight.shape != (self.out_features, self.in_features):
            raise ShapeError(
                f"Linear weight must have shape (out, in) = ({self.out_features}, "
                f"{self.in_features}), got {self.weight.shape}"
            )
        if self.bias.shape != (self.out_features,):
            raise ShapeError(
                f"Linear bias must have shape ({self.out_features},), got {self.bias.shape}"
            )
        self.grad_weight = self.grad_bias = None
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in) -> (N, out), in x's dtype."""
        x = float_array(x, "Linear input", ndim=2)
        if x.shape[1] != self.in_features:
            raise ShapeError(
                f"Linear expects {self.in_features} input features but got shape {x.shape}"
            )
        w = self.weight.astype(x.dtype, copy=False)
        self._cache = (x, w)
        return x @ w.T + self.bias.astype(x.dtype, copy=False)

    def backward(self, dz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """dz: (N, out) -> (dW: (out, in), dx: (N, in)); sets ``grad_weight`` and ``grad_bias``."""
        require_forward(self._cache, "Linear")
        x, w = self._cache
        dz = check_dout(dz, (x.shape[0], self.out_features), "Linear").astype(x.dtype, copy=False)
        self.grad_weight = dz.T @ x
        self.grad_bias = dz.sum(axis=0)
        return self.grad_weight, dz @ w
