"""Where one number comes from: a cell of the trace written as its short sum, term by term.

Pure numpy: the terms are recomputed from the formulas (the scenario's arrays and, for the
gradients, the trace's ∂L/∂H), never read from the answer, so "the terms add up to the trace's
value" is a real check. With ``x_pad`` the zero-padded input and ``dH`` = ∂L/∂H (stage
``grad.conv.out``, after the ReLU mask when there is one)::

    conv.out[n,f,i,j]         = Σ_{c,u,v} x_pad[n,c, i·s_h+u·d_h, j·s_w+v·d_w] · W[f,c,u,v] + b[f]
    pool.out[n,c,i,j]         = max (or mean) of the window at (i·ps_h, j·ps_w) of the pool input
    grad.conv.weight[f,c,u,v] = Σ_{n,i,j} dH[n,f,i,j] · x_pad[n,c, i·s_h+u·d_h, j·s_w+v·d_w]
    grad.conv.bias[f]         = Σ_{n,i,j} dH[n,f,i,j]
    grad.input[n,c,r,q]       = Σ dH[n,f,i,j] · W[f,c,u,v]  over every (f,i,j,u,v) with
                                i·s_h + u·d_h − p_top = r  and  j·s_w + v·d_w − p_left = q

Counting: padding cells are *included* as terms with the factor 0 (conv.out has C·kh·kw terms,
grad.conv.weight N·H_out·W_out: one per entry of the X_col row, as the matrix product sees
them). Max pooling is written as a sum too, Σ a·[a is the chosen cell], with the same 0/1 mask
the backward pass uses; average pooling as Σ a·1/(kh·kw).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from .errors import ConvtraceError
from .im2col import im2col, pad_input
from .pipeline import pool_input

#: The stages explain covers, with the names of their axes.
AXES = {
    "conv.out": ("n", "f", "i", "j"),
    "pool.out": ("n", "c", "i", "j"),
    "grad.conv.weight": ("f", "c", "u", "v"),
    "grad.conv.bias": ("f",),
    "grad.input": ("n", "c", "r", "q"),
}
EXPLAINABLE = tuple(AXES)
_CELL = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*\[\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\]\s*$")
_HOW = "write a cell as stage[i,j,...], e.g. conv.out[0,1,2,2] or grad.conv.bias[1]"


@dataclass
class Term:
    """One term of the sum: its factors, their product, and where each factor lives."""

    factors: list[float]
    product: float
    where: str
    meta: dict = field(default_factory=dict)


@dataclass
class Explanation:
    """One cell explained.

    value: Σ products (+ bias), recomputed here in float64. trace_value: the pipeline's value.
    reference: torch's value (None without a reference). tolerance: the absolute difference
    still counted as agreement, ``rtol · max(1, Σ|products| + |bias|)`` (the size of the
    rounding a float sum of these terms can make). details: what the views need (grids as
    arrays, window coordinates, counts).
    """

    cell: str
    stage: str
    index: tuple[int, ...]
    kind: str
    formula: str
    value: float
    trace_value: float
    reference: float | None
    terms: list[Term]
    bias: float | None = None
    tolerance: float = 0.0
    details: dict = field(default_factory=dict)

    @property
    def agrees_with_trace(self) -> bool:
        return abs(self.value - self.trace_value) <= self.tolerance

    @property
    def agrees_with_reference(self) -> bool | None:
        if self.reference is None:
            return None
        return abs(self.value - self.reference) <= self.tolerance


def cell_name(stage: str, index) -> str:
    return f"{stage}[{','.join(str(i) for i in index)}]"


def parse_cell(text: str) -> tuple[str, tuple[int, ...]]:
    """``"conv.out[0,1,2,2]"`` -> ``("conv.out", (0, 1, 2, 2))``."""
    match = _CELL.match(text or "")
    if not match:
        raise ConvtraceError(f"cannot read the cell {text!r}: {_HOW}")
    return match.group(1).lower(), tuple(int(p) for p in match.group(2).split(","))


def _check_cell(trace, stage_name: str, index: tuple[int, ...]):
    if stage_name not in EXPLAINABLE:
        known = "is a stage of this run, but" if stage_name in trace else "is not a stage;"
        raise ConvtraceError(
            f"{stage_name} {known} explain covers: "
            f"{', '.join(n for n in EXPLAINABLE if n in trace)}"
        )
    if stage_name not in trace:
        why = "--pool none" if stage_name == "pool.out" else "it needs the backward pass"
        raise ConvtraceError(f"{stage_name} is not in this run ({why})")
    stage = trace[stage_name]
    shape, axes = stage.shape, AXES[stage_name]
    wanted = f"{stage_name}[{','.join(axes)}] has shape {tuple(shape)}"
    if len(index) != len(shape):
        raise ConvtraceError(
            f"{wanted}, so a cell needs {len(shape)} indices; got {len(index)}: {list(index)}"
        )
    for axis, i, size in zip(axes, index, shape, strict=True):
        if not 0 <= i < size:
            raise ConvtraceError(
                f"{wanted}; index {list(index)} is out of range: {axis} = {i}, but {axis} runs "
                f"from 0 to {size - 1}"
            )
    return stage


def explain_cell(trace, stage_name: str, index) -> Explanation:
    """Explain ``trace[stage_name][index]`` as its sum of terms (see the module docstring)."""
    index = tuple(int(i) for i in index)
    stage = _check_cell(trace, stage_name, index)
    s = trace.scenario
    build = {
        "conv.out": _conv_out,
        "pool.out": _pool_out,
        "grad.conv.weight": _weight_grad,
        "grad.conv.bias": _bias_grad,
        "grad.input": _input_grad,
    }[stage_name]
    kind, formula, terms, bias, details = build(trace, s, index)
    value = math.fsum([t.product for t in terms] + [bias or 0.0])
    scale = max(1.0, math.fsum(abs(t.product) for t in terms) + abs(bias or 0.0))
    ref = None if stage.reference is None else float(np.asarray(stage.reference)[index])
    return Explanation(
        cell=cell_name(stage_name, index),
        stage=stage_name,
        index=index,
        kind=kind,
        formula=formula,
        value=value,
        trace_value=float(np.asarray(stage.values)[index]),
        reference=ref,
        terms=terms,
        bias=bias,
        tolerance=trace.tolerance * scale,
        details=details,
    )


def _idx(*values) -> str:
    return ",".join(str(v) for v in values)


def _x_where(s, n, c, rp, qp) -> tuple[str, tuple | None]:
    """Name of the padded-input cell (rp, qp): x[n,c,r,q], or padding when outside x."""
    (pt, _), (pl, _) = s.pads
    r, q = rp - pt, qp - pl
    h, w = s.x.shape[2:]
    if 0 <= r < h and 0 <= q < w:
        return f"x[{_idx(n, c, r, q)}]", (n, c, r, q)
    return f"pad({r},{q})", None


def _taps(s, i, j):
    """Padded-input coordinates read by kernel offset (u, v) for output position (i, j)."""
    (sh, sw), (dh, dw) = s.stride, s.dilation
    return lambda u, v: (i * sh + u * dh, j * sw + v * dw)


def _conv_out(trace, s, index):
    n, f, i, j = index
    xp = pad_input(s.x, s.pads)
    c_count, kh, kw = s.conv_weight.shape[1:]
    tap = _taps(s, i, j)
    terms = []
    for c in range(c_count):
        for u in range(kh):
            for v in range(kw):
                rp, qp = tap(u, v)
                x_name, at = _x_where(s, n, c, rp, qp)
                a, w = float(xp[n, c, rp, qp]), float(s.conv_weight[f, c, u, v])
                meta = {"channel": c, "offset": (u, v), "padded": (rp, qp), "input": at}
                terms.append(Term([a, w], a * w, f"{x_name}·W[{_idx(f, c, u, v)}]", meta))
    w_out = trace["conv.out"].shape[3]
    column, row = i * w_out + j, f
    details = {
        "padded": xp[n],
        "kernel": s.conv_weight[f],
        "products": np.array([t.product for t in terms]).reshape(c_count, kh, kw),
        "origin": tap(0, 0),
        "taps": [tap(u, v) for u in range(kh) for v in range(kw)],
        "pads": s.pads,
        "stride": s.stride,
        "dilation": s.dilation,
        "column": column,
        "row": row,
        "w_out": w_out,
    }
    # The same number as a matrix-product entry, from the trace's X_col when the run has one.
    if "conv.cols" in trace:
        x_col = np.asarray(trace["conv.cols"].values)[n, :, column]
    else:
        x_col = im2col(s.x[n : n + 1], (kh, kw), s.stride, s.pads, s.dilation)[0, :, column]
    w_row = s.conv_weight.reshape(s.conv_weight.shape[0], -1)[row]
    details["im2col_dot"] = float(x_col.astype(np.float64) @ w_row.astype(np.float64))
    formula = "H[n,f,i,j] = Σ_{c,u,v} x_pad[n,c, i·s+u·d, j·s+v·d] · W[f,c,u,v] + b[f]"
    return "conv", formula, terms, float(s.conv_bias[f]), details


def _pool_out(trace, s, index):
    n, c, i, j = index
    source = pool_input(trace)
    a_map = np.asarray(trace[source].values)[n, c]
    (ph, pw), (sh, sw) = s.pool_size, s.pool_stride
    cells = [(i * sh + u, j * sw + v) for u in range(ph) for v in range(pw)]
    window = np.array([float(a_map[r, q]) for r, q in cells])
    chosen = int(np.argmax(window)) if s.pool == "max" else None  # first maximum on ties
    share = 1.0 / (ph * pw)
    terms = []
    for k, (r, q) in enumerate(cells):
        factor = (1.0 if k == chosen else 0.0) if s.pool == "max" else share
        meta = {"offset": divmod(k, pw), "position": (n, c, r, q), "chosen": k == chosen}
        terms.append(
            Term([window[k], factor], window[k] * factor, f"{source}[{_idx(n, c, r, q)}]", meta)
        )
    details = {
        "source": source,
        "map": a_map,
        "cells": cells,
        "chosen": chosen,
        "pool": s.pool,
        "pool_size": s.pool_size,
        "pool_stride": s.pool_stride,
        "overlapping": (sh < ph) or (sw < pw),
    }
    if "pool.argmax" in trace:
        details["trace_argmax"] = int(np.asarray(trace["pool.argmax"].values)[index])
    if "grad.pool.out" in trace:
        g = float(np.asarray(trace["grad.pool.out"].values)[index])
        if s.pool == "max":
            r, q = cells[chosen]
            goes = [((n, c, r, q), g)]
        else:
            goes = [((n, c, r, q), g * share) for r, q in cells]
        details.update(grad=g, grad_goes=goes)
    formula = (
        "P[n,c,i,j] = max of the window = Σ a·[a is the chosen cell]"
        if s.pool == "max"
        else f"P[n,c,i,j] = mean of the window = Σ a · 1/{ph * pw}"
    )
    return "pool", formula, terms, None, details


def _grad_h(trace) -> np.ndarray:
    return np.asarray(trace["grad.conv.out"].values)


def _weight_grad(trace, s, index):
    f, c, u, v = index
    dh = _grad_h(trace)
    xp = pad_input(s.x, s.pads)
    n_count, _, h_out, w_out = dh.shape
    terms = []
    for n in range(n_count):
        for i in range(h_out):
            for j in range(w_out):
                rp, qp = _taps(s, i, j)(u, v)
                x_name, at = _x_where(s, n, c, rp, qp)
                g, a = float(dh[n, f, i, j]), float(xp[n, c, rp, qp])
                meta = {"sample": n, "output": (i, j), "padded": (rp, qp), "input": at}
                terms.append(Term([g, a], g * a, f"∂L/∂H[{_idx(n, f, i, j)}]·{x_name}", meta))
    details = {
        "grad_h": dh[:, f],
        "padded": xp[:, c],
        "taps": [_taps(s, i, j)(u, v) for i in range(h_out) for j in range(w_out)],
        "zero_grad": sum(1 for t in terms if t.factors[0] == 0),
        "padding_terms": sum(1 for t in terms if t.meta["input"] is None),
        "pads": s.pads,
        "relu": s.activation == "relu",
    }
    formula = "∂L/∂W[f,c,u,v] = Σ_{n,i,j} ∂L/∂H[n,f,i,j] · x_pad[n,c, i·s+u·d, j·s+v·d]"
    return "weight_grad", formula, terms, None, details


def _bias_grad(trace, s, index):
    (f,) = index
    dh = _grad_h(trace)
    terms = [
        Term(
            [float(dh[n, f, i, j])],
            float(dh[n, f, i, j]),
            f"∂L/∂H[{_idx(n, f, i, j)}]",
            {"sample": n, "output": (i, j)},
        )
        for n in range(dh.shape[0])
        for i in range(dh.shape[2])
        for j in range(dh.shape[3])
    ]
    details = {
        "grad_h": dh[:, f],
        "relu": s.activation == "relu",
        "zero_grad": sum(1 for t in terms if t.product == 0),
    }
    return "bias_grad", "∂L/∂b[f] = Σ_{n,i,j} ∂L/∂H[n,f,i,j]", terms, None, details


def reading_pairs(pixel: int, out: int, kernel: int, stride: int, dilation: int, before: int):
    """(output index, kernel offset) pairs on one axis whose tap lands on input ``pixel``:
    ``i·s + u·d − p_before = pixel``."""
    return [
        (i, u)
        for i in range(out)
        for u in range(kernel)
        if i * stride + u * dilation - before == pixel
    ]


def _input_grad(trace, s, index):
    n, c, r, q = index
    dh = _grad_h(trace)
    f_count, _, kh, kw = s.conv_weight.shape
    h_out, w_out = dh.shape[2:]
    (pt, _), (pl, _) = s.pads
    rows = reading_pairs(r, h_out, kh, s.stride[0], s.dilation[0], pt)
    cols = reading_pairs(q, w_out, kw, s.stride[1], s.dilation[1], pl)
    terms = []
    for f in range(f_count):
        for i, u in rows:
            for j, v in cols:
                g, w = float(dh[n, f, i, j]), float(s.conv_weight[f, c, u, v])
                meta = {
                    "filter": f,
                    "output": (i, j),
                    "offset": (u, v),
                    "flipped": (kh - 1 - u, kw - 1 - v),
                }
                terms.append(
                    Term([g, w], g * w, f"∂L/∂H[{_idx(n, f, i, j)}]·W[{_idx(f, c, u, v)}]", meta)
                )
    details = {
        "grad_h": dh[n],
        "windows": len(rows) * len(cols),
        "positions": [(i, j) for i, _ in rows for j, _ in cols],
        "filters": f_count,
        "kernels": s.conv_weight[:, c],
        "relu": s.activation == "relu",
        "padded_pixel": (r + pt, q + pl),
    }
    formula = (
        "∂L/∂x[n,c,r,q] = Σ ∂L/∂H[n,f,i,j] · W[f,c,u,v] over i·s+u·d−p_top = r, j·s+v·d−p_left = q"
    )
    return "input_grad", formula, terms, None, details


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value


def explanation_document(e: Explanation) -> dict:
    """The --json document: every term, the value three ways, and the verdicts."""
    scalars = {k: v for k, v in e.details.items() if not isinstance(v, np.ndarray)}
    doc = {
        "cell": e.cell,
        "stage": e.stage,
        "index": list(e.index),
        "kind": e.kind,
        "formula": e.formula,
        "value": e.value,
        "trace_value": e.trace_value,
        "reference": e.reference,
        "term_count": len(e.terms),
        "terms": [
            {
                "factors": t.factors,
                "product": t.product,
                "where": t.where,
                "meta": _jsonable(t.meta),
            }
            for t in e.terms
        ],
        "tolerance": e.tolerance,
        "agrees": {"trace": e.agrees_with_trace, "torch": e.agrees_with_reference},
        "details": _jsonable(scalars),
    }
    if e.bias is not None:
        doc["bias"] = e.bias
    return doc
