"""Flatten moves numbers without changing them: one term, a factor of 1::

flatten.out[n,k]  = P[n,c,i,j]       with k = c·H·W + i·W + j
∂L/∂P[n,c,i,j]    = ∂L/∂f[n,k]       the same k
"""

from __future__ import annotations

import numpy as np

from ...i18n import Msg
from ..sums import explains, idx, layer_input, output_grad, product


@explains("flatten", "out", ("n", "k"))
def flatten_out(trace, layer, index):
    n, k = index
    source = layer_input(trace, layer)
    at = (n, *np.unravel_index(k, source.shape[1:]))
    a = float(source[at])
    where = f"{layer.in_symbol}[{idx(*at)}]"
    formula = Msg(
        "{f}[n,k] = {x}[n,c,i,j] with k = c·H·W + i·W + j", f=layer.symbol, x=layer.in_symbol
    )
    details = {"source": layer.in_stage, "position": tuple(int(v) for v in at)}
    return "elementwise", formula, [product(a, 1.0, where)], None, details


@explains("flatten", "input", ("n", "c", "i", "j"))
def flatten_input_grad(trace, layer, index):
    grad = output_grad(trace, layer)
    k = int(np.ravel_multi_index(index[1:], tuple(trace[layer.in_stage].shape[1:])))
    g = float(grad[index[0], k])
    where = f"∂L/∂{layer.symbol}[{idx(index[0], k)}]"
    formula = f"∂L/∂{layer.in_symbol}[n,c,i,j] = ∂L/∂{layer.symbol}[n, c·H·W + i·W + j]"
    return "elementwise", formula, [product(g, 1.0, where)], None, {"position": k}
