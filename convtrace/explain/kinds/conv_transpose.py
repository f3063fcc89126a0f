"""A transposed convolution's four sums, with x its input (the small map), Wt (C, F, kh, kw)
and dT = ∂L/∂T (stage ``grad.convt.out``). A pair (input pixel (i, j), kernel offset (u, v))
lands on output cell (y, q) when i·s + u·d − p = y and j·s + v·d − p = q::

    convt.out[n,f,y,q]        = Σ x[n,c,i,j] · Wt[c,f,u,v] over every landing pair + b[f]
    grad.convt.weight[c,f,u,v] = Σ_{n,i,j} x[n,c,i,j] · dT[n,f,i·s+u·d−p, j·s+v·d−p]
    grad.convt.bias[f]         = Σ_{n,y,q} dT[n,f,y,q]
    ∂L/∂x[n,c,i,j]             = Σ_{f,u,v} dT[n,f,i·s+u·d−p, j·s+v·d−p] · Wt[c,f,u,v]

(the last is a plain convolution of dT: what each input pixel's kernel copy touched).
"""

from __future__ import annotations

import numpy as np

from ...i18n import Msg
from ..sums import Term, explains, idx, layer_input, output_grad, product
from .conv import reading_pairs


def _landing(layer, y, q, in_hw):
    """(i, u) pairs on rows and (j, v) pairs on columns whose kernel copy lands on (y, q)."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = (layer.kernel_size, layer.stride, layer.dilation,
                                              layer.padding)  # fmt: skip
    return (reading_pairs(y, in_hw[0], kh, sh, dh, ph), reading_pairs(q, in_hw[1], kw, sw, dw, pw))


def _touched(layer, i, j, out_hw):
    """Kernel offsets (u, v) of input pixel (i, j) and the output cell each lands on."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = (layer.kernel_size, layer.stride, layer.dilation,
                                              layer.padding)  # fmt: skip
    for u in range(kh):
        for v in range(kw):
            y, q = i * sh + u * dh - ph, j * sw + v * dw - pw
            if 0 <= y < out_hw[0] and 0 <= q < out_hw[1]:
                yield u, v, y, q


@explains("convt", "out", ("n", "f", "y", "q"))
def convt_out(trace, layer, index):
    n, f, y, q = index
    x, w = layer_input(trace, layer), np.asarray(layer.weight)
    rows, cols = _landing(layer, y, q, x.shape[2:])
    X, W, T, b = layer.in_symbol, layer.weight_symbol, layer.symbol, layer.bias_symbol
    terms = [
        product(x[n, c, i, j], w[c, f, u, v], f"{X}[{idx(n, c, i, j)}]·{W}[{idx(c, f, u, v)}]",
                {"input": (i, j), "offset": (u, v), "channel": c})
        for c in range(x.shape[1]) for i, u in rows for j, v in cols
    ]  # fmt: skip
    formula = Msg(
        "{T}[n,f,y,q] = Σ {X}[n,c,i,j] · {W}[c,f,u,v] over every (input pixel (i,j), kernel "
        "offset (u,v)) landing on (y,q): i·s+u·d−p = y, j·s+v·d−p = q; + {b}[f]. Here "
        "{pairs} pair(s) per input channel land on ({y},{q}) ({X} is the input, {T} the output)",
        T=T, X=X, W=W, b=b, pairs=len(rows) * len(cols), y=y, q=q,
    )  # fmt: skip
    details = {"source": layer.in_stage, "pairs": len(rows) * len(cols)}
    return "convt", formula, terms, float(np.asarray(layer.bias)[f]), details


@explains("convt", "weight", ("c", "f", "u", "v"))
def convt_weight_grad(trace, layer, index):
    c, f, u, v = index
    x, dt = layer_input(trace, layer), output_grad(trace, layer)
    X, T = layer.in_symbol, layer.symbol
    terms = []
    for n in range(x.shape[0]):
        for i in range(x.shape[2]):
            for j in range(x.shape[3]):
                for uu, vv, y, q in _touched(layer, i, j, dt.shape[2:]):
                    if (uu, vv) == (u, v):
                        where = f"{X}[{idx(n, c, i, j)}]·∂L/∂{T}[{idx(n, f, y, q)}]"
                        terms.append(product(x[n, c, i, j], dt[n, f, y, q], where))
    formula = (
        f"∂L/∂{layer.weight_symbol}[c,f,u,v] = Σ_{{n,i,j}} {X}[n,c,i,j] · "
        f"∂L/∂{T}[n,f,i·s+u·d−p, j·s+v·d−p]"
    )
    return "convt", formula, terms, None, {"source": layer.in_stage}


@explains("convt", "bias", ("f",))
def convt_bias_grad(trace, layer, index):
    (f,) = index
    dt = output_grad(trace, layer)
    T = layer.symbol
    terms = [
        Term([float(dt[n, f, y, q])], float(dt[n, f, y, q]), f"∂L/∂{T}[{idx(n, f, y, q)}]")
        for n in range(dt.shape[0]) for y in range(dt.shape[2]) for q in range(dt.shape[3])
    ]  # fmt: skip
    return "convt", f"∂L/∂{layer.bias_symbol}[f] = Σ ∂L/∂{T}[n,f,y,q]", terms, None, {}


@explains("convt", "input", ("n", "c", "i", "j"))
def convt_input_grad(trace, layer, index):
    n, c, i, j = index
    dt, w = output_grad(trace, layer), np.asarray(layer.weight)
    X, W, T = layer.in_symbol, layer.weight_symbol, layer.symbol
    terms = [
        product(dt[n, f, y, q], w[c, f, u, v], f"∂L/∂{T}[{idx(n, f, y, q)}]·{W}[{idx(c, f, u, v)}]")
        for f in range(w.shape[1]) for u, v, y, q in _touched(layer, i, j, dt.shape[2:])
    ]  # fmt: skip
    formula = Msg(
        "∂L/∂{X}[n,c,i,j] = Σ ∂L/∂{T}[n,f,y,q] · {W}[c,f,u,v] over the cells (y,q) the "
        "kernel copy of pixel (i,j) landed on: a convolution of ∂L/∂{T}",
        X=X, T=T, W=W,
    )  # fmt: skip
    return "convt", formula, terms, None, {"source": layer.in_stage}
