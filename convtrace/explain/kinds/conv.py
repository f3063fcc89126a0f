"""A convolution's four sums. With ``x_pad`` the layer's zero-padded input and ``dH`` =
∂L/∂H (stage ``grad.<conv>.out``, after the ReLU mask when a ReLU follows)::

    conv.out[n,f,i,j]         = Σ_{c,u,v} x_pad[n,c, i·s_h+u·d_h, j·s_w+v·d_w] · W[f,c,u,v] + b[f]
    grad.conv.weight[f,c,u,v] = Σ_{n,i,j} dH[n,f,i,j] · x_pad[n,c, i·s_h+u·d_h, j·s_w+v·d_w]
    grad.conv.bias[f]         = Σ_{n,i,j} dH[n,f,i,j]
    ∂L/∂x[n,c,r,q]            = Σ dH[n,f,i,j] · W[f,c,u,v]  over every (f,i,j,u,v) with
                                i·s_h + u·d_h − p_top = r  and  j·s_w + v·d_w − p_left = q

Padding cells are terms with the factor 0 (conv.out has C·kh·kw terms, grad.conv.weight
N·H_out·W_out: one per entry of the X_col row, as the matrix product sees them). For a later
conv, x is the stage it reads (``pool1.out``) and the letters are its own (``P1_pad``, ``W2``).
"""

from __future__ import annotations

import numpy as np

from ...core.im2col import im2col, pad_input
from ...i18n import Msg
from ..sums import Term, explains, idx, layer_input, output_grad, product, symbols


def _symbols(layer) -> dict:
    return symbols(layer, H=layer.symbol)


def _relu_follows(trace, layer) -> bool:
    names = [other.name for other in trace.layers]
    k = names.index(layer.name) if layer.name in names else -1
    return 0 <= k < len(names) - 1 and trace.layers[k + 1].family == "act"


def _x_where(layer, x, n, c, rp, qp) -> tuple[str, tuple | None]:
    """Name of the padded-input cell (rp, qp): x[n,c,r,q], or padding when outside x."""
    (pt, _), (pl, _) = layer.pads
    r, q = rp - pt, qp - pl
    h, w = x.shape[2:]
    if 0 <= r < h and 0 <= q < w:
        return f"{layer.in_symbol}[{idx(n, c, r, q)}]", (n, c, r, q)
    return f"pad({r},{q})", None


def _taps(layer, i, j):
    """Padded-input coordinates read by kernel offset (u, v) for output position (i, j)."""
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    return lambda u, v: (i * sh + u * dh, j * sw + v * dw)


@explains("conv", "out", ("n", "f", "i", "j"))
def conv_out(trace, layer, index):
    n, f, i, j = index
    x, weight = layer_input(trace, layer), np.asarray(layer.weight)
    xp = pad_input(x, layer.pads)
    c_count, kh, kw = weight.shape[1:]
    tap = _taps(layer, i, j)
    sym = _symbols(layer)
    terms = []
    for c in range(c_count):
        for u in range(kh):
            for v in range(kw):
                rp, qp = tap(u, v)
                x_name, at = _x_where(layer, x, n, c, rp, qp)
                meta = {"channel": c, "offset": (u, v), "padded": (rp, qp), "input": at}
                where = f"{x_name}·{sym['W']}[{idx(f, c, u, v)}]"
                terms.append(product(xp[n, c, rp, qp], weight[f, c, u, v], where, meta))
    w_out = trace[f"{layer.name}.out"].shape[3]
    column, row = i * w_out + j, f
    details = {
        "padded": xp[n],
        "kernel": weight[f],
        "products": np.array([t.product for t in terms]).reshape(c_count, kh, kw),
        "origin": tap(0, 0),
        "taps": [tap(u, v) for u in range(kh) for v in range(kw)],
        "pads": layer.pads,
        "stride": layer.stride,
        "dilation": layer.dilation,
        "column": column,
        "row": row,
        "w_out": w_out,
        "symbols": sym,
    }
    # The same number as a matrix-product entry, from the trace's X_col when the run has one.
    cols_stage = f"{layer.name}.cols"
    if cols_stage in trace:
        x_col = np.asarray(trace[cols_stage].values)[n, :, column]
    else:
        x_col = im2col(x[n : n + 1], (kh, kw), layer.stride, layer.pads, layer.dilation)[
            0, :, column
        ]
    w_row = weight.reshape(weight.shape[0], -1)[row]
    details["im2col_dot"] = float(x_col.astype(np.float64) @ w_row.astype(np.float64))
    H, X, W, b = sym["H"], sym["x"], sym["W"], sym["b"]
    formula = f"{H}[n,f,i,j] = Σ_{{c,u,v}} {X}_pad[n,c, i·s+u·d, j·s+v·d] · {W}[f,c,u,v] + {b}[f]"
    return "conv", formula, terms, float(np.asarray(layer.bias)[f]), details


@explains("conv", "weight", ("f", "c", "u", "v"))
def weight_grad(trace, layer, index):
    f, c, u, v = index
    dh, x = output_grad(trace, layer), layer_input(trace, layer)
    xp = pad_input(x, layer.pads)
    n_count, _, h_out, w_out = dh.shape
    sym = _symbols(layer)
    terms = []
    for n in range(n_count):
        for i in range(h_out):
            for j in range(w_out):
                rp, qp = _taps(layer, i, j)(u, v)
                x_name, at = _x_where(layer, x, n, c, rp, qp)
                meta = {"sample": n, "output": (i, j), "padded": (rp, qp), "input": at}
                where = f"∂L/∂{sym['H']}[{idx(n, f, i, j)}]·{x_name}"
                terms.append(product(dh[n, f, i, j], xp[n, c, rp, qp], where, meta))
    details = {
        "grad_h": dh[:, f],
        "padded": xp[:, c],
        "taps": [_taps(layer, i, j)(u, v) for i in range(h_out) for j in range(w_out)],
        "zero_grad": sum(1 for t in terms if t.factors[0] == 0),
        "padding_terms": sum(1 for t in terms if t.meta["input"] is None),
        "pads": layer.pads,
        "relu": _relu_follows(trace, layer),
        "grad_stage": f"grad.{layer.name}.out",
        "symbols": sym,
    }
    H, X, W = sym["H"], sym["x"], sym["W"]
    formula = f"∂L/∂{W}[f,c,u,v] = Σ_{{n,i,j}} ∂L/∂{H}[n,f,i,j] · {X}_pad[n,c, i·s+u·d, j·s+v·d]"
    return "weight_grad", formula, terms, None, details


@explains("conv", "bias", ("f",))
def bias_grad(trace, layer, index):
    (f,) = index
    dh = output_grad(trace, layer)
    sym = _symbols(layer)
    terms = [
        Term(
            [float(dh[n, f, i, j])],
            float(dh[n, f, i, j]),
            f"∂L/∂{sym['H']}[{idx(n, f, i, j)}]",
            {"sample": n, "output": (i, j)},
        )
        for n in range(dh.shape[0])
        for i in range(dh.shape[2])
        for j in range(dh.shape[3])
    ]
    details = {
        "grad_h": dh[:, f],
        "relu": _relu_follows(trace, layer),
        "zero_grad": sum(1 for t in terms if t.product == 0),
        "grad_stage": f"grad.{layer.name}.out",
        "symbols": sym,
    }
    formula = f"∂L/∂{sym['b']}[f] = Σ_{{n,i,j}} ∂L/∂{sym['H']}[n,f,i,j]"
    return "bias_grad", formula, terms, None, details


def reading_pairs(pixel: int, out: int, kernel: int, stride: int, dilation: int, before: int):
    """(output index, kernel offset) pairs on one axis whose tap lands on input ``pixel``:
    ``i·s + u·d − p_before = pixel``."""
    return [
        (i, u)
        for i in range(out)
        for u in range(kernel)
        if i * stride + u * dilation - before == pixel
    ]


@explains("conv", "input", ("n", "c", "r", "q"))
def input_grad(trace, layer, index):
    n, c, r, q = index
    dh, weight = output_grad(trace, layer), np.asarray(layer.weight)
    f_count, _, kh, kw = weight.shape
    h_out, w_out = dh.shape[2:]
    (pt, _), (pl, _) = layer.pads
    rows = reading_pairs(r, h_out, kh, layer.stride[0], layer.dilation[0], pt)
    cols = reading_pairs(q, w_out, kw, layer.stride[1], layer.dilation[1], pl)
    sym = _symbols(layer)
    terms = []
    for f in range(f_count):
        for i, u in rows:
            for j, v in cols:
                meta = {
                    "filter": f,
                    "output": (i, j),
                    "offset": (u, v),
                    "flipped": (kh - 1 - u, kw - 1 - v),
                }
                where = f"∂L/∂{sym['H']}[{idx(n, f, i, j)}]·{sym['W']}[{idx(f, c, u, v)}]"
                terms.append(product(dh[n, f, i, j], weight[f, c, u, v], where, meta))
    details = {
        "grad_h": dh[n],
        "windows": len(rows) * len(cols),
        "positions": [(i, j) for i, _ in rows for j, _ in cols],
        "filters": f_count,
        "kernels": weight[:, c],
        "relu": _relu_follows(trace, layer),
        "padded_pixel": (r + pt, q + pl),
        "grad_stage": f"grad.{layer.name}.out",
        "symbols": sym,
    }
    H, X, W = sym["H"], sym["x"], sym["W"]
    formula = Msg(
        "∂L/∂{X}[n,c,r,q] = Σ ∂L/∂{H}[n,f,i,j] · {W}[f,c,u,v] over i·s+u·d−p_top = r, "
        "j·s+v·d−p_left = q",
        X=X,
        H=H,
        W=W,
    )
    return "input_grad", formula, terms, None, details
