"""One SGD step, cell by cell (``--lr η``, ``--momentum μ``, ``--weight-decay λ``)::

    update.L.weight[…] = W[…] − η·∂L/∂W[…] − η·λ·W[…]

The trace holds one step, so the momentum buffer is still B = ∂L/∂W + λ·W (torch's first
step) and the same three terms explain the cell with or without momentum. The factors come
from the stages the step read (``L.weight``, ``grad.L.weight``), never from the answer.
"""

from __future__ import annotations

import numpy as np

from ...i18n import Msg
from ..sums import explains, idx, product


def _update(trace, layer, index, part: str):
    stage = trace[f"update.{layer.name}.{part}"]
    lr = float(stage.meta["lr"])
    decay = float(stage.meta.get("weight_decay", 0.0))
    momentum = float(stage.meta.get("momentum", 0.0))
    source = trace[f"{layer.name}.{part}"]
    symbol = source.symbol or f"{layer.name}.{part}"
    w = float(np.asarray(source.values)[index])
    g = float(np.asarray(trace[f"grad.{layer.name}.{part}"].values)[index])
    at = idx(*index)
    terms = [product(w, 1.0, f"{symbol}[{at}]"), product(-lr, g, f"−η·∂L/∂{symbol}[{at}]")]
    formula = f"{symbol}' = {symbol} − η·∂L/∂{symbol}"
    if decay:
        terms.append(product(-lr * decay, w, f"−η·λ·{symbol}[{at}]"))
        formula += f" − η·λ·{symbol}"
    formula += f"   (η = {lr:g}" + (f", λ = {decay:g}" if decay else "") + ")"
    if momentum:
        formula = Msg("{formula}; with momentum μ = {mu:g}, step 1's buffer is B = ∂L/∂W + λ·W",
                      formula=formula, mu=momentum)  # fmt: skip
    details = {"source": f"{layer.name}.{part}", "lr": lr, "weight_decay": decay,
               "momentum": momentum}  # fmt: skip
    return "update", formula, terms, None, details


@explains("update", "weight")
def update_weight(trace, layer, index):
    return _update(trace, layer, index, "weight")


@explains("update", "bias")
def update_bias(trace, layer, index):
    return _update(trace, layer, index, "bias")
