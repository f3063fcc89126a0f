"""The five sums ``convtrace explain`` writes out, term by term (see :mod:`convtrace.explain`).

Each ``build(trace, scenario, index)`` returns ``(kind, formula, terms, bias, details)``; the
terms are recomputed from the scenario's arrays and, for the gradients, the trace's ∂L/∂H.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.im2col import im2col, pad_input


@dataclass
class Term:
    """One term of the sum: its factors, their product, and where each factor lives."""

    factors: list[float]
    product: float
    where: str
    meta: dict = field(default_factory=dict)


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
    source = trace.layer("pool").in_stage
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


#: stage name -> the function that writes its cell as a sum.
SUMS = {
    "conv.out": _conv_out,
    "pool.out": _pool_out,
    "grad.conv.weight": _weight_grad,
    "grad.conv.bias": _bias_grad,
    "grad.input": _input_grad,
}
