"""Consistency checks on a scenario's arrays: the one place user-supplied tensors are judged.

Each check raises a ConvtraceError whose sentence names the option (or file) and the values.
"""

from __future__ import annotations

import numpy as np

from .errors import ShapeError


def _origin(sources: dict, key: str, option: str) -> str:
    """How to name an array in a message: its file when it came from one, else its option."""
    return sources.get(key) or option


def check_finite(array: np.ndarray, what: str) -> None:
    """Refuse NaN and ±Inf, naming the first bad index."""
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ShapeError(
            f"{what} contains {array[index]} at index {list(index)}; "
            "only finite numbers are accepted"
        )


def check_numeric(array, what: str) -> np.ndarray:
    """Only real numeric dtypes (no objects, strings or complex numbers)."""
    array = np.asarray(array)
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise ShapeError(f"{what} must hold real numbers, got dtype {array.dtype}")
    return array


def check_scenario_arrays(x, conv_w, conv_b, sources: dict) -> None:
    """Input (N, C, H, W), conv weight (F, C, kh, kw) and bias (F,) fit together."""
    x_name = _origin(sources, "input", "the input")
    w_name = _origin(sources, "conv.weight", "conv.weight")
    b_name = _origin(sources, "conv.bias", "conv.bias")
    for arr, what in ((x, x_name), (conv_w, w_name), (conv_b, b_name)):
        check_numeric(arr, what)
        check_finite(np.asarray(arr, float), what)
    if x.ndim != 4:
        raise ShapeError(f"{x_name} must be 4-D (N, C, H, W), got shape {x.shape}")
    if conv_w.ndim != 4:
        raise ShapeError(f"{w_name} must be 4-D (F, C, kh, kw), got shape {conv_w.shape}")
    if x.shape[1] != conv_w.shape[1]:
        raise ShapeError(
            f"{x_name} has {x.shape[1]} channels (shape {x.shape}) but {w_name} expects "
            f"{conv_w.shape[1]} (shape {conv_w.shape})"
        )
    if conv_b.shape != (conv_w.shape[0],):
        raise ShapeError(
            f"{b_name} must have shape ({conv_w.shape[0]},) for {conv_w.shape[0]} filters, "
            f"got {conv_b.shape}"
        )


def check_head(fc_w, fc_b, target, in_features: int, batch: int, loss: str, dtype, sources):
    """FC weight (out, in), bias (out,) and target fit the flattened features and the loss.

    Returns (fc_w, fc_b, target) converted: weights to ``dtype``; target to ``dtype`` for
    bce/mse (shape (N, out)), to int64 class indices for ce (shape (N,)).
    """
    w_name = _origin(sources, "fc.weight", "fc.weight")
    b_name = _origin(sources, "fc.bias", "fc.bias")
    t_name = _origin(sources, "target", "the target")
    fc_w, fc_b = check_numeric(fc_w, w_name), check_numeric(fc_b, b_name)
    target = check_numeric(target, t_name)
    for arr, what in ((fc_w, w_name), (fc_b, b_name), (target, t_name)):
        check_finite(np.asarray(arr, float), what)
    if fc_w.ndim != 2 or fc_w.shape[1] != in_features:
        raise ShapeError(
            f"{w_name} must have shape (out, {in_features}) to match the {in_features} "
            f"flattened features, got {fc_w.shape}"
        )
    out = fc_w.shape[0]
    if fc_b.shape != (out,):
        raise ShapeError(f"{b_name} must have shape ({out},), got {fc_b.shape}")
    if loss == "ce":
        if out < 2:
            raise ShapeError(f"cross-entropy needs at least 2 classes, but {w_name} has {out} rows")
        if target.ndim == 0:
            target = np.full(batch, target)
        if target.shape != (batch,):
            raise ShapeError(
                f"{t_name} must be {batch} class indices (shape ({batch},)), got shape "
                f"{target.shape}"
            )
        if np.any(np.mod(target, 1) != 0) or target.min() < 0 or target.max() >= out:
            raise ShapeError(
                f"{t_name} must hold whole class indices 0..{out - 1}, got {target.tolist()}"
            )
        target = target.astype(np.int64)
    else:
        if target.ndim == 0:
            target = np.full((batch, out), target)
        if target.shape != (batch, out):
            raise ShapeError(
                f"{t_name} must have the logits' shape ({batch}, {out}), got {target.shape}"
            )
        if loss == "bce" and (target.min() < 0 or target.max() > 1):
            raise ShapeError(
                f"{t_name} for bce must be between 0 and 1, got values from {target.min()} "
                f"to {target.max()}"
            )
        target = target.astype(dtype)
    return fc_w.astype(dtype), fc_b.astype(dtype), target
