"""A pooling window as a sum: max pooling is Σ a·[a is the chosen cell] (the same 0/1 mask the
backward pass uses), average pooling Σ a·1/(kh·kw)::

    pool.out[n,c,i,j] = max (or mean) of the window at (i·ps_h, j·ps_w) of the pool's input
"""

from __future__ import annotations

import numpy as np

from ...i18n import Msg
from ..sums import explains, idx, layer_input, output_grad, product


@explains("pool", "out", ("n", "c", "i", "j"))
def pool_out(trace, layer, index):
    n, c, i, j = index
    source = layer.in_stage
    a_map = np.asarray(trace[source].values)[n, c]
    kind = "max" if layer.kind == "maxpool" else "avg"
    (ph, pw), (sh, sw) = layer.kernel_size, layer.stride
    cells = [(i * sh + u, j * sw + v) for u in range(ph) for v in range(pw)]
    window = np.array([float(a_map[r, q]) for r, q in cells])
    chosen = int(np.argmax(window)) if kind == "max" else None  # first maximum on ties
    share = 1.0 / (ph * pw)
    terms = []
    for k, (r, q) in enumerate(cells):
        factor = (1.0 if k == chosen else 0.0) if kind == "max" else share
        meta = {"offset": divmod(k, pw), "position": (n, c, r, q), "chosen": k == chosen}
        terms.append(product(window[k], factor, f"{source}[{idx(n, c, r, q)}]", meta))
    details = {
        "source": source,
        "map": a_map,
        "cells": cells,
        "chosen": chosen,
        "pool": kind,
        "pool_size": layer.kernel_size,
        "pool_stride": layer.stride,
        "overlapping": (sh < ph) or (sw < pw),
        "symbols": {"P": layer.symbol},
    }
    if f"{layer.name}.argmax" in trace:
        details["trace_argmax"] = int(np.asarray(trace[f"{layer.name}.argmax"].values)[index])
    if f"grad.{layer.name}.out" in trace:
        g = float(output_grad(trace, layer)[index])
        if kind == "max":
            r, q = cells[chosen]
            goes = [((n, c, r, q), g)]
        else:
            goes = [((n, c, r, q), g * share) for r, q in cells]
        details.update(grad=g, grad_goes=goes)
    P = layer.symbol
    formula = (
        Msg("{P}[n,c,i,j] = max of the window = Σ a·[a is the chosen cell]", P=P)
        if kind == "max"
        else Msg("{P}[n,c,i,j] = mean of the window = Σ a · 1/{cells}", P=P, cells=ph * pw)
    )
    return "pool", formula, terms, None, details


@explains("pool", "input", ("n", "c", "r", "q"))
def pool_input_grad(trace, layer, index):
    """∂L/∂a[n,c,r,q] = Σ over the windows holding (r, q) of ∂L/∂P[n,c,i,j] · share, the share
    being [a is the window's chosen cell] (max) or 1/(kh·kw) (average)."""
    n, c, r, q = index
    a_map = layer_input(trace, layer)[n, c]
    dp = output_grad(trace, layer)[n, c]
    kind = "max" if layer.kind == "maxpool" else "avg"
    (ph, pw), (sh, sw) = layer.kernel_size, layer.stride
    P, source = layer.symbol, layer.in_stage
    terms = []
    for i in range(dp.shape[0]):
        for j in range(dp.shape[1]):
            u, v = r - i * sh, q - j * sw
            if not (0 <= u < ph and 0 <= v < pw):
                continue
            window = a_map[i * sh : i * sh + ph, j * sw : j * sw + pw].ravel()
            if kind == "max":
                share = 1.0 if int(np.argmax(window)) == u * pw + v else 0.0
            else:
                share = 1.0 / (ph * pw)
            g = float(dp[i, j])
            meta = {"output": (i, j), "offset": (u, v)}
            terms.append(product(g, share, f"∂L/∂{P}[{idx(n, c, i, j)}]", meta))
    details = {"symbols": {"P": P}, "source": source, "pool": kind}
    a = layer.in_symbol  # the letter of what the pool read (A2, H, x): as the other stages
    chosen = Msg("[{a} is the chosen cell]", a=a) if kind == "max" else f"1/{ph * pw}"
    formula = Msg(
        "∂L/∂{a}[n,c,r,q] = Σ over the windows holding (r,q) of ∂L/∂{P}[n,c,i,j] · {chosen}",
        a=a,
        P=P,
        chosen=chosen,
    )
    return "elementwise", formula, terms, None, details
