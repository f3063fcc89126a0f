"""Input checks shared by the layers (one sentence per failure, naming the values)."""

from __future__ import annotations

import numpy as np

from ...i18n import _
from ..errors import ShapeError, StateError


def float_array(x, what: str, ndim: int | None = None) -> np.ndarray:
    """Return x as an ndarray, refusing non-floating dtypes and (optionally) the wrong rank."""
    x = np.asarray(x)
    if ndim is not None and x.ndim != ndim:
        layout = {4: " (N, C, H, W)", 2: " (N, features)"}.get(ndim, "")
        raise ShapeError(
            _("{what} must be {ndim}-D{layout}, got shape {shape}").format(
                what=what, ndim=ndim, layout=layout, shape=x.shape
            )
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise ShapeError(
            _(
                "{what} must hold floating-point numbers (float32 or float64), "
                "got dtype {dtype}; convert it with x.astype(np.float32)"
            ).format(what=what, dtype=x.dtype)
        )
    return x


def check_dout(dout, expected_shape: tuple, layer: str) -> np.ndarray:
    """The upstream gradient must have exactly the shape of the layer's last output."""
    dout = float_array(dout, f"{layer}.backward's dout")
    if dout.shape != tuple(expected_shape):
        raise ShapeError(
            _(
                "{layer}.backward got dout of shape {shape}, but the forward "
                "output had shape {expected_shape}"
            ).format(layer=layer, shape=dout.shape, expected_shape=tuple(expected_shape))
        )
    return dout


def require_forward(cache, layer: str) -> None:
    if cache is None:
        raise StateError(
            _("{layer}.backward was called before forward: run forward(x) first").format(
                layer=layer
            )
        )


def kaiming_uniform(rng: np.random.Generator, shape: tuple, fan_in: int) -> np.ndarray:
    """torch.nn's default init for Conv2d/Linear weights and biases: U(-1/sqrt(fan_in), +).

    (kaiming_uniform_ with a=sqrt(5) gives bound = sqrt(6/((1+5)*fan_in)) = 1/sqrt(fan_in).)
    """
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)
