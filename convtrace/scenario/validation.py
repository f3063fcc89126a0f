"""Consistency checks on a scenario's arrays: the one place user-supplied tensors are judged.

Each check raises a ConvtraceError whose sentence names the option (or file) and the values.
Sizes are judged from shapes alone, before any tensor is generated or allocated.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..core.errors import NumericError, ParameterError, ShapeError
from ..i18n import _

# The loop method costs ~10-15 µs per output position (forward + backward) in Python: 500k
# positions is already several seconds (more with --method both and torch's reference), and it
# grows without bound, so beyond that we refuse and point to im2col.
LOOP_POSITION_LIMIT = 500_000


def array_name(sources: dict, key: str, option: str) -> str:
    """How to name an array in a message: its file when it came from one, else its option."""
    return sources.get(key) or option


def check_finite(array: np.ndarray, what: str) -> None:
    """Refuse NaN and ±Inf, naming the first bad index (any real dtype; no float copy)."""
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ShapeError(
            _("{what} contains {array} at index {index}; only finite numbers are accepted").format(
                what=what, array=array[index], index=list(index)
            )
        )


def in_dtype(array, dtype, what: str) -> np.ndarray:
    """``array`` converted to ``dtype``, refusing values beyond its range (they would become
    ±inf silently). array: any shape, numeric and finite (already checked)."""
    array = np.asarray(array)
    dtype = np.dtype(dtype)
    if array.size and np.issubdtype(array.dtype, np.number):
        largest = float(np.max(np.abs(array.astype(np.float64, copy=False))))
        limit = float(np.finfo(dtype).max)
        if largest > limit:
            hint = _("; use --dtype float64") if dtype != np.float64 else ""
            raise NumericError(
                _(
                    "{what} holds {largest:.4g}, beyond what {dtype} holds (±{limit:.4g}){hint}"
                ).format(what=what, largest=largest, dtype=dtype, limit=limit, hint=hint)
            )
    return array.astype(dtype, copy=False)


def check_numeric(array, what: str) -> np.ndarray:
    """Only real numeric dtypes (no objects, strings or complex numbers)."""
    array = np.asarray(array)
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise ShapeError(
            _("{what} must hold real numbers, got dtype {dtype}").format(
                what=what, dtype=array.dtype
            )
        )
    return array


def check_supplied(array, what: str, ndim: int, layout: str) -> np.ndarray:
    """An array given by the user (not generated): numeric, finite, non-empty, of rank ``ndim``."""
    array = check_numeric(array, what)
    if array.ndim != ndim:
        raise ShapeError(
            _("{what} must be {ndim}-D {layout}, got shape {shape}").format(
                what=what, ndim=ndim, layout=layout, shape=array.shape
            )
        )
    if array.size == 0:
        raise ShapeError(
            _("{what} has no elements (shape {shape})").format(what=what, shape=array.shape)
        )
    check_finite(array, what)
    return array


def dims(shape) -> str:
    """``(2, 3, 4)`` -> ``2×3×4``."""
    return "×".join(str(int(d)) for d in shape)


def check_tensors(tensors, max_elements: int, smaller: str) -> None:
    """Refuse when one of ``tensors`` ((what, shape) pairs, nothing allocated) would hold more
    than ``max_elements`` numbers, or all of them more than the machine's free memory.
    ``smaller``: how else to shrink it, after a smaller --size or --batch."""
    for what, shape in tensors:
        count = math.prod(shape)
        if count > max_elements:
            raise ParameterError(
                _(
                    "{what} would have {shape} = {count:,} elements, more than the "
                    "limit of {max_elements:,}; use a smaller --size or --batch (or "
                    "{smaller}), or raise the limit with --max-elements {count}"
                ).format(
                    what=what,
                    shape=dims(shape),
                    count=count,
                    max_elements=max_elements,
                    smaller=smaller,
                )
            )
    check_memory(sum(math.prod(shape) for _what, shape in tensors), max_elements)


#: A run holds each counted tensor several times over: ours, its gradient, torch's twins, and
#: float64 copies while comparing. Measured peak: 60 bytes per counted element (--size 1000
#: --method im2col, 15.4M counted, 900 MB peak RSS with torch); --json needs ~4x more for
#: its lists, which this does not count.
BYTES_PER_ELEMENT = 64


def available_memory() -> int | None:
    """Bytes the system could still give this process (MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(elements: int, max_elements: int) -> None:
    """Refuse, before allocating, a run whose tensors would need more memory than is free."""
    needed = elements * BYTES_PER_ELEMENT
    free = available_memory()
    if free is not None and needed > free:
        raise ParameterError(
            _(
                "this run's tensors ({elements:,} numbers) would need about "
                "{needed:.1f} GiB, more than the {free:.1f} GiB of memory free; "
                "the limit --max-elements {max_elements:,} allows it, but this "
                "machine cannot hold it: use a smaller --size, --batch or "
                "--filters"
            ).format(
                elements=elements,
                needed=needed / 2**30,
                free=free / 2**30,
                max_elements=max_elements,
            )
        )


def check_head(fc_w, fc_b, target, in_features: int, batch: int, loss: str, dtype, sources,
               name: str = "fc"):  # fmt: skip
    """FC weight (out, in), bias (out,) and target fit the flattened features and the loss.

    Returns (fc_w, fc_b, target) converted: weights to ``dtype``; target to ``dtype`` for
    bce/mse (shape (N, out)), to int64 class indices for ce (shape (N,)).
    """
    w_name = array_name(sources, f"{name}.weight", f"{name}.weight")
    b_name = array_name(sources, f"{name}.bias", f"{name}.bias")
    t_name = array_name(sources, "target", "the target")
    fc_w, fc_b = check_numeric(fc_w, w_name), check_numeric(fc_b, b_name)
    target = check_numeric(target, t_name)
    for arr, what in ((fc_w, w_name), (fc_b, b_name), (target, t_name)):
        check_finite(arr, what)
    if fc_w.ndim != 2 or fc_w.shape[1] != in_features:
        raise ShapeError(
            _(
                "{w_name} must have shape (out, {in_features}) to match the "
                "{in_features} flattened features, got {shape}"
            ).format(w_name=w_name, in_features=in_features, shape=fc_w.shape)
        )
    out = fc_w.shape[0]
    if fc_b.shape != (out,):
        raise ShapeError(
            _("{b_name} must have shape ({out},), got {shape}").format(
                b_name=b_name, out=out, shape=fc_b.shape
            )
        )
    if loss == "ce":
        if out < 2:
            raise ShapeError(
                _("cross-entropy needs at least 2 classes, but {w_name} has {out} rows").format(
                    w_name=w_name, out=out
                )
            )
        if target.ndim == 0:
            target = np.full(batch, target)
        if target.shape != (batch,):
            raise ShapeError(
                _(
                    "{t_name} must be {batch} class indices (shape ({batch},)), got shape {shape}"
                ).format(t_name=t_name, batch=batch, shape=target.shape)
            )
        if np.any(np.mod(target, 1) != 0) or target.min() < 0 or target.max() >= out:
            raise ShapeError(
                _("{t_name} must hold whole class indices 0..{out}, got {target}").format(
                    t_name=t_name, out=out - 1, target=target.tolist()
                )
            )
        target = target.astype(np.int64)
    else:
        if target.ndim == 0:
            target = np.full((batch, out), target)
        elif target.ndim == 1 and target.size == batch * out:
            target = target.reshape(batch, out)  # comma-separated numbers fill it row-major
        if target.shape != (batch, out):
            raise ShapeError(
                _(
                    "{t_name} must have the logits' shape ({batch}, {out}) ({count} numbers, "
                    "filled row by row), got shape {shape} ({size} numbers)"
                ).format(
                    t_name=t_name,
                    batch=batch,
                    out=out,
                    count=batch * out,
                    shape=target.shape,
                    size=target.size,
                )  # fmt: skip
            )
        if loss == "bce" and (target.min() < 0 or target.max() > 1):
            low, high = float(target.min()), float(target.max())
            got = f"{low:g}" if low == high else f"values from {low:g} to {high:g}"
            raise ShapeError(
                _("{t_name} for bce must be between 0 and 1, got {got}").format(
                    t_name=t_name, got=got
                )
            )
        target = in_dtype(target, dtype, t_name)
    return in_dtype(fc_w, dtype, w_name), in_dtype(fc_b, dtype, b_name), target


def check_image_target(target, out_shape, loss: str, dtype, sources) -> np.ndarray:
    """The target of a network that ends in an image layer (mse or bce): the last output's
    shape (a single number fills it), real and finite, in ``dtype`` (in [0, 1] for bce)."""
    t_name = array_name(sources, "target", "the target")
    target = check_numeric(target, t_name)
    check_finite(target, t_name)
    if target.ndim == 0:
        target = np.full(out_shape, target)
    if tuple(target.shape) != tuple(out_shape):
        raise ShapeError(
            _("{t_name} must have the last output's shape {out}, got {shape}").format(
                t_name=t_name, out=tuple(out_shape), shape=tuple(target.shape)
            )
        )
    if loss == "bce" and target.size and (target.min() < 0 or target.max() > 1):
        raise ShapeError(_("{t_name} for bce must be between 0 and 1").format(t_name=t_name))
    return in_dtype(target, dtype, t_name)
