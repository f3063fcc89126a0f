"""A ReLU cell is one term, the input times its on/off mask::

act.out[n,…]     = h[n,…] · [h > 0]
∂L/∂h[n,…]       = ∂L/∂A[n,…] · [h > 0]      (grad.conv.out when a conv comes first)
"""

from __future__ import annotations

from ...i18n import Msg
from ..sums import explains, idx, layer_input, output_grad, product


def _mask(trace, layer, index) -> tuple[float, float]:
    h = float(layer_input(trace, layer)[index])
    return h, 1.0 if h > 0 else 0.0


@explains("act", "out")
def relu_out(trace, layer, index):
    h, on = _mask(trace, layer, index)
    where = f"{layer.in_symbol}[{idx(*index)}]·[{layer.in_symbol} > 0]"
    formula = f"{layer.symbol} = {layer.in_symbol} · [{layer.in_symbol} > 0]  (ReLU)"
    details = {"source": layer.in_stage}
    return "elementwise", formula, [product(h, on, where)], None, details


@explains("act", "input")
def relu_input_grad(trace, layer, index):
    _, on = _mask(trace, layer, index)
    g = float(output_grad(trace, layer)[index])
    where = f"∂L/∂{layer.symbol}[{idx(*index)}]·[{layer.in_symbol} > 0]"
    formula = Msg(
        "∂L/∂{x} = ∂L/∂{y} · [{x} > 0]  (the ReLU mask)", x=layer.in_symbol, y=layer.symbol
    )
    details = {"source": layer.in_stage}
    return "elementwise", formula, [product(g, on, where)], None, details
