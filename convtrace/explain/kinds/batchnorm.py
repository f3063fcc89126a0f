"""A BatchNorm's sums, per channel c over the m values of that channel in the batch, with x
the layer's input and dB = ∂L/∂B (stage ``grad.bn.out``)::

    bn.out[…c…]       = γ[c] · x̂ + β[c],   x̂ = (x − μ[c]) / √(σ²[c] + ε)
    grad.bn.weight[c] = Σ dB · x̂           grad.bn.bias[c] = Σ dB
    ∂L/∂x[…c…]        = dB·γ[c]/√(σ²+ε)             through x̂
                      + ∂L/∂σ²[c] · 2(x − μ[c])/m   through σ²
                      + ∂L/∂μ[c] · 1/m              through μ

μ and σ² are recomputed here in float64 from the layer's input (train mode) or read from the
running statistics (eval mode, where only the path through x̂ exists).
"""

from __future__ import annotations

import numpy as np

from ...i18n import Msg
from ..sums import Term, explains, idx, layer_input, output_grad, product


def _channel(trace, layer, c):
    """(x of channel c as float64, μ, σ², 1/√(σ²+ε), m) for the layer's input."""
    xc = np.asarray(layer_input(trace, layer), np.float64)[:, c]
    if layer.mode == "train":
        mu, var = float(xc.mean()), float(((xc - xc.mean()) ** 2).mean())
    else:
        mu, var = float(layer.running_mean[c]), float(layer.running_var[c])
    return xc, mu, var, 1.0 / np.sqrt(var + layer.eps), xc.size


def _signed(value: float) -> str:
    """A number after a minus sign: ``(-8.64)`` bracketed when negative."""
    return f"({value:.6g})" if value < 0 else f"{value:.6g}"


def _within(index):
    """The cell's index inside its channel's slice x[:, c] (sample first, channel dropped)."""
    return (index[0], *index[2:])


def _stats(layer, mu, var, m) -> str:
    where = (
        Msg("the batch's {m} values of channel c", m=m)
        if layer.mode == "train"
        else Msg("the running statistics (eval)")
    )
    return Msg("μ[c] = {mu:.6g}, σ²[c] = {var:.6g}, ε = {eps:g}: {where}", mu=mu, var=var,
               eps=layer.eps, where=where)  # fmt: skip


@explains("bn", "out")
def bn_out(trace, layer, index):
    c = index[1]
    xc, mu, var, inv, m = _channel(trace, layer, c)
    value = xc[_within(index)]
    xhat = (value - mu) * inv
    X, g, b = layer.in_symbol, layer.gamma_symbol, layer.beta_symbol
    where = (
        f"{g}[{c}]·x̂   x̂ = ({X}[{idx(*index)}] − μ[{c}]) / √(σ²[{c}] + ε) = "
        f"({value:.6g} − {_signed(mu)}) / √({var:.6g} + {layer.eps:g})"
    )
    terms = [product(float(layer.weight[c]), xhat, where)]
    formula = Msg("{B} = {g}[c] · ({X} − μ[c]) / √(σ²[c] + ε) + {b}[c];  {stats}",
                  B=layer.symbol, g=g, X=X, b=b, stats=_stats(layer, mu, var, m))  # fmt: skip
    details = {"source": layer.in_stage, "mean": mu, "var": var, "count": m}
    return "elementwise", formula, terms, float(layer.bias[c]), details


@explains("bn", "weight", ("c",))
def bn_weight_grad(trace, layer, index):
    (c,) = index
    xc, mu, _var, inv, _m = _channel(trace, layer, c)
    dc = np.asarray(output_grad(trace, layer), np.float64)[:, c]
    B = layer.symbol
    terms = [
        product(dc[pos], (xc[pos] - mu) * inv, f"∂L/∂{B}[{idx(pos[0], c, *pos[1:])}]·x̂")
        for pos in np.ndindex(*dc.shape)
    ]
    formula = f"∂L/∂{layer.gamma_symbol}[c] = Σ ∂L/∂{B}[…c…] · x̂[…c…]"
    return "elementwise", formula, terms, None, {"source": layer.in_stage}


@explains("bn", "bias", ("c",))
def bn_bias_grad(trace, layer, index):
    (c,) = index
    dc = np.asarray(output_grad(trace, layer), np.float64)[:, c]
    B = layer.symbol
    terms = [
        Term([float(dc[pos])], float(dc[pos]), f"∂L/∂{B}[{idx(pos[0], c, *pos[1:])}]")
        for pos in np.ndindex(*dc.shape)
    ]
    formula = f"∂L/∂{layer.beta_symbol}[c] = Σ ∂L/∂{B}[…c…]"
    return "elementwise", formula, terms, None, {"source": layer.in_stage}


@explains("bn", "input")
def bn_input_grad(trace, layer, index):
    """The classic three-path derivation, each path one term with its numbers."""
    c = index[1]
    xc, mu, var, inv, m = _channel(trace, layer, c)
    dc = np.asarray(output_grad(trace, layer), np.float64)[:, c]
    gamma = float(layer.weight[c])
    at = _within(index)
    X, B, g = layer.in_symbol, layer.symbol, layer.gamma_symbol
    through_xhat = Term(
        [float(dc[at]), gamma, inv],
        float(dc[at]) * gamma * inv,
        Msg("through x̂:  ∂L/∂{B}[{i}]·{g}[{c}]·1/√(σ²+ε)", B=B, i=idx(*index), g=g, c=c),
    )
    formula = Msg(
        "∂L/∂{X} = ∂L/∂x̂/√(σ²+ε) + ∂L/∂σ²·2({X} − μ)/m + ∂L/∂μ/m, with ∂L/∂x̂ = ∂L/∂{B}·{g}; "
        "{stats}",
        X=X, B=B, g=g, stats=_stats(layer, mu, var, m),
    )  # fmt: skip
    if layer.mode == "eval":
        formula = Msg("∂L/∂{X} = ∂L/∂{B}·{g}[c]/√(σ²[c]+ε): in eval mode μ and σ² are "
                      "constants, so x̂ is the only path; {stats}", X=X, B=B, g=g,
                      stats=_stats(layer, mu, var, m))  # fmt: skip
        return "elementwise", formula, [through_xhat], None, {"source": layer.in_stage}
    dxhat = dc * gamma
    centred = xc - mu
    dvar = float(np.sum(dxhat * centred) * -0.5 * inv**3)
    dmu = float(np.sum(-dxhat * inv) + dvar * np.sum(-2.0 * centred) / m)
    through_var = Term(
        [dvar, 2.0 * centred[at] / m],
        dvar * 2.0 * centred[at] / m,
        Msg("through σ²: ∂L/∂σ²[{c}]·2({X}[{i}] − μ[{c}])/{m}", c=c, X=X, i=idx(*index), m=m),
    )
    through_mu = Term([dmu, 1.0 / m], dmu / m, Msg("through μ:  ∂L/∂μ[{c}]·1/{m}", c=c, m=m))
    details = {"source": layer.in_stage, "dvar": dvar, "dmu": dmu, "count": m}
    return "elementwise", formula, [through_xhat, through_var, through_mu], None, details
