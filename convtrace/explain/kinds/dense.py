"""A fully connected layer's four sums, with f the layer's input (N, in), W_fc its weights
(out, in) and dz = ∂L/∂z (stage ``grad.fc.out``)::

    fc.out[n,o]         = Σ_k f[n,k] · W_fc[o,k] + b_fc[o]
    grad.fc.weight[o,k] = Σ_n dz[n,o] · f[n,k]
    grad.fc.bias[o]     = Σ_n dz[n,o]
    ∂L/∂f[n,k]          = Σ_o dz[n,o] · W_fc[o,k]
"""

from __future__ import annotations

import numpy as np

from ..sums import Term, explains, idx, layer_input, output_grad, product, symbols


def _symbols(layer) -> dict:
    return symbols(layer, z=layer.symbol)


def _details(layer, **extra) -> dict:
    return {"symbols": _symbols(layer), "source": layer.in_stage, **extra}


@explains("fc", "out", ("n", "o"))
def fc_out(trace, layer, index):
    n, o = index
    f, weight = layer_input(trace, layer), np.asarray(layer.weight)
    s = _symbols(layer)
    terms = [
        product(f[n, k], weight[o, k], f"{s['x']}[{idx(n, k)}]·{s['W']}[{idx(o, k)}]")
        for k in range(f.shape[1])
    ]
    formula = f"{s['z']}[n,o] = Σ_k {s['x']}[n,k] · {s['W']}[o,k] + {s['b']}[o]"
    details = _details(layer, row=f[n], weights=weight[o])
    return "fc", formula, terms, float(np.asarray(layer.bias)[o]), details


@explains("fc", "weight", ("o", "k"))
def fc_weight_grad(trace, layer, index):
    o, k = index
    f, dz = layer_input(trace, layer), output_grad(trace, layer)
    s = _symbols(layer)
    terms = [
        product(dz[n, o], f[n, k], f"∂L/∂{s['z']}[{idx(n, o)}]·{s['x']}[{idx(n, k)}]")
        for n in range(dz.shape[0])
    ]
    formula = f"∂L/∂{s['W']}[o,k] = Σ_n ∂L/∂{s['z']}[n,o] · {s['x']}[n,k]"
    return "fc_grad", formula, terms, None, _details(layer)


@explains("fc", "bias", ("o",))
def fc_bias_grad(trace, layer, index):
    (o,) = index
    dz = output_grad(trace, layer)
    s = _symbols(layer)
    terms = [
        Term([float(dz[n, o])], float(dz[n, o]), f"∂L/∂{s['z']}[{idx(n, o)}]", {"sample": n})
        for n in range(dz.shape[0])
    ]
    formula = f"∂L/∂{s['b']}[o] = Σ_n ∂L/∂{s['z']}[n,o]"
    return "fc_grad", formula, terms, None, _details(layer)


@explains("fc", "input", ("n", "k"))
def fc_input_grad(trace, layer, index):
    n, k = index
    dz, weight = output_grad(trace, layer), np.asarray(layer.weight)
    s = _symbols(layer)
    terms = [
        product(dz[n, o], weight[o, k], f"∂L/∂{s['z']}[{idx(n, o)}]·{s['W']}[{idx(o, k)}]")
        for o in range(dz.shape[1])
    ]
    formula = f"∂L/∂{s['x']}[n,k] = Σ_o ∂L/∂{s['z']}[n,o] · {s['W']}[o,k]"
    return "fc_grad", formula, terms, None, _details(layer)
