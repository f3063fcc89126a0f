"""Max-pool marks: which cells each max pooling chose, on its input, its windows and their
gradients, as boolean masks the tensor views draw as ``[x]`` (readable without colour)."""

from __future__ import annotations

import numpy as np

from ..i18n import N_, Msg
from ..tracing.stage import Stage, Trace

POOL_LEGEND = N_("[x] = the maximum of its pooling window")
#: with the pool's own letter (P, P2)
POOL_GRAD_LEGEND = N_("[x] = a window's maximum: the only cell its ∂L/∂{P} reaches")


def _chosen_cells(argmax: np.ndarray, shape, size, stride) -> np.ndarray:
    """Booleans over the pooling input (N, C, H, W) marking each window's chosen cell."""
    n, c, ho, wo = argmax.shape
    u, v = np.divmod(np.asarray(argmax, dtype=np.int64), size[1])
    rows = np.arange(ho).reshape(1, 1, ho, 1) * stride[0] + u
    cols = np.arange(wo).reshape(1, 1, 1, wo) * stride[1] + v
    mask = np.zeros(shape, dtype=bool)
    mask[np.arange(n).reshape(n, 1, 1, 1), np.arange(c).reshape(1, c, 1, 1), rows, cols] = True
    return mask


def _chosen_slots(argmax: np.ndarray, window: int) -> np.ndarray:
    """Booleans over the window columns (N, C, kh·kw, L) marking each column's chosen row."""
    n, c = argmax.shape[:2]
    flat = np.asarray(argmax, dtype=np.int64).reshape(n, c, 1, -1)
    mask = np.zeros((n, c, window, flat.shape[-1]), dtype=bool)
    np.put_along_axis(mask, flat, True, axis=2)
    return mask


def _pool_marks(trace: Trace, argmax_stage: Stage) -> dict:
    """The marks of one max pooling: its input's chosen cells and its window columns'."""
    meta = argmax_stage.meta
    name, size, stride = meta.get("input"), meta.get("size"), meta.get("stride")
    pool = argmax_stage.name.rsplit(".", 1)[0]
    ours_argmax, ref_argmax = argmax_stage.values, argmax_stage.reference
    if name not in trace or size is None or np.ndim(ours_argmax) != 4:
        return {}
    source = trace[name]
    if source.shape[:2] != np.shape(ours_argmax)[:2]:  # a --bug layout: no window to mark
        return {}
    ours = _chosen_cells(ours_argmax, source.shape, size, stride)
    theirs = None
    if ref_argmax is not None and np.ndim(ref_argmax) == 4:
        theirs = _chosen_cells(ref_argmax, source.shape, size, stride)
    window = size[0] * size[1]
    slots = _chosen_slots(ours_argmax, window)
    ref_slots = None if ref_argmax is None else _chosen_slots(ref_argmax, window)
    layer = trace.layer(pool)
    grad_legend = Msg(POOL_GRAD_LEGEND, P=getattr(layer, "symbol", "P"))
    return {
        name: (ours, theirs, POOL_LEGEND),
        f"{pool}.cols": (slots, ref_slots, POOL_LEGEND),
        f"grad.{pool}.cols": (slots, ref_slots, grad_legend),
        f"grad.{name}": (ours, theirs, grad_legend),
    }


def highlights(trace: Trace) -> dict[str, tuple[np.ndarray, np.ndarray | None, str]]:
    """{stage name: (our mask, torch's mask, legend)} for every stage that shows the cells a
    max pooling chose (its input, its windows, and their gradients), for every max pool."""
    marks = {}
    for stage in trace:
        if stage.name.endswith(".argmax") and not stage.is_gradient:
            marks.update(_pool_marks(trace, stage))
    return {
        key: mark
        for key, mark in marks.items()
        if key in trace and trace[key].shape == mark[0].shape
    }
