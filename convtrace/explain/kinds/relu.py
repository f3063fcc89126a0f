"""A ReLU cell is one term, the input times its on/off mask::

act.out[n,…]     = h[n,…] · [h > 0]
∂L/∂h[n,…]       = ∂L/∂A[n,…] · [h > 0]      (grad.conv.out when a conv comes first)
"""

from __future__ import annotations

import numpy as np

from ...i18n import Msg
from ..sums import Term, explains, idx


def _mask(trace, layer, index) -> tuple[float, float]:
    h = float(np.asarray(trace[layer.in_stage].values)[index])
    return h, 1.0 if h > 0 else 0.0


@explains("act", "out")
def relu_out(trace, layer, index):
    h, on = _mask(trace, layer, index)
    where = f"{layer.in_symbol}[{idx(*index)}]·[{layer.in_symbol} > 0]"
    formula = f"{layer.symbol} = {layer.in_symbol} · [{layer.in_symbol} > 0]  (ReLU)"
    details = {"source": layer.in_stage}
    return "elementwise", formula, [Term([h, on], h * on, where)], None, details


@explains("act", "input")
def relu_input_grad(trace, layer, index):
    _, on = _mask(trace, layer, index)
    g = float(np.asarray(trace[f"grad.{layer.name}.out"].values)[index])
    where = f"∂L/∂{layer.symbol}[{idx(*index)}]·[{layer.in_symbol} > 0]"
    formula = Msg(
        "∂L/∂{x} = ∂L/∂{y} · [{x} > 0]  (the ReLU mask)", x=layer.in_symbol, y=layer.symbol
    )
    details = {"source": layer.in_stage}
    return "elementwise", formula, [Term([g, on], g * on, where)], None, details
