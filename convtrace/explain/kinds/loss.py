"""The loss as a sum over what it averages (mean reduction, as torch's defaults), with z the last
layer's output and y the target::

    mse   L = Σ_{n,o} (z[n,o] − y[n,o])² / M                      M = N·out
    bce   L = Σ_{n,o} (max(z,0) − z·y + log(1 + e^−|z|)) / M
    ce    L = Σ_n (logsumexp(z[n]) − z[n, y[n]]) / N

and its derivative, the stage ``grad.<last>.out``, one term per cell::

    bce   ∂L/∂z[n,o] = (σ(z[n,o]) − y[n,o]) · 1/M
    mse   ∂L/∂z[n,o] = 2(z[n,o] − y[n,o]) · 1/M
    ce    ∂L/∂z[n,o] = (softmax(z[n])[o] − [o = y[n]]) · 1/N
"""

from __future__ import annotations

import math

import numpy as np

from ...tracing.formulas import LOSS_FORMULAS, LOSS_GRADIENTS
from ..sums import explains, idx, product


def _logsumexp(row) -> float:
    top = max(row)
    return top + math.log(math.fsum(math.exp(v - top) for v in row))


@explains("loss", "value", ())
def loss_value(trace, layer, index):
    last = trace.layers[-1]
    z = np.asarray(trace[f"{last.name}.out"].values, dtype=np.float64)
    stage = trace["loss"]
    y = np.asarray(stage.meta.get("target", getattr(trace.scenario, "target", None)))
    loss = trace.scenario.loss
    zs = last.symbol
    terms, sizes = [], []  # sizes: Σ|terms| inside each averaged term (they cancel)
    if loss == "ce":
        count = z.shape[0]
        for n in range(count):
            t = int(y[n])
            lse = _logsumexp([float(v) for v in z[n]])
            zt = float(z[n, t])
            meta = {"lse": lse, "z_target": zt, "scale": 1 / count, "target": t, "sample": n}
            where = f"(logsumexp({zs}[{n}]) − {zs}[{idx(n, t)}]) / {count}"
            terms.append(product(lse - zt, 1 / count, where, meta))
            sizes.append(float(np.abs(z[n]).max()) + abs(lse) + abs(zt))
    else:
        count = z.size
        for at in np.ndindex(z.shape):
            zv, yv = float(z[at]), float(y[at])
            if loss == "mse":
                inner, where = (zv - yv) ** 2, f"({zs}[{idx(*at)}] − y[{idx(*at)}])² / {count}"
                sizes.append((abs(zv) + abs(yv)) ** 2)
            else:
                inner = max(zv, 0.0) - zv * yv + math.log1p(math.exp(-abs(zv)))
                where = f"bce({zs}[{idx(*at)}], y[{idx(*at)}]) / {count}"
                sizes.append(abs(zv) * (1 + abs(yv)) + abs(inner))
            meta = {"z": zv, "y": yv, "scale": 1 / count, "inner": inner, "position": at}
            terms.append(product(inner, 1 / count, where, meta))
    details = {"loss": loss, "count": count, "symbols": {"z": zs}, "source": f"{last.name}.out",
               "term_sum": math.fsum(sizes) / count}  # fmt: skip
    return f"loss_{loss}", LOSS_FORMULAS[loss], terms, None, details


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


@explains("loss", "grad")  # axes follow the last output: (n, o) logits, or an image for mse/bce
def loss_grad(trace, layer, index):
    """One cell of ∂L/∂z, written with its numbers."""
    last = trace.layers[-1]
    z = np.asarray(trace[f"{last.name}.out"].values, dtype=np.float64)
    y = np.asarray(trace["loss"].meta.get("target", getattr(trace.scenario, "target", None)))
    loss, zs = trace.scenario.loss, last.symbol
    zv = float(z[tuple(index)])
    if loss == "ce":
        n, o = index
        count, row = z.shape[0], [float(v) for v in z[n]]
        soft = math.exp(zv - _logsumexp(row))
        hot = 1.0 if int(y[n]) == o else 0.0
        where = (
            f"(softmax({zs}[{n}])[{o}] − [{o} = y[{n}]]) / {count}"
            f" = ({soft:.6g} − {hot:g}) / {count}"
        )
        inner, meta, size = soft - hot, {"softmax": soft, "onehot": hot}, soft + hot
    else:
        at = idx(*index)
        count, yv = z.size, float(y[tuple(index)])
        if loss == "mse":
            inner, size = 2 * (zv - yv), 2 * (abs(zv) + abs(yv))
            where = f"2({zs}[{at}] − y[{at}]) / {count} = 2({zv:.6g} − {yv:g}) / {count}"
        else:
            inner, size = _sigmoid(zv) - yv, _sigmoid(zv) + abs(yv)
            where = (
                f"(σ({zs}[{at}]) − y[{at}]) / {count} = (σ({zv:.6g}) − {yv:g}) / {count}"
                f" = ({_sigmoid(zv):.6g} − {yv:g}) / {count}"
            )
        meta = {"z": zv, "y": yv}
    details = {"loss": loss, "count": count, "symbols": {"z": zs}, "source": f"{last.name}.out",
               "term_sum": size / count}  # fmt: skip
    formula = LOSS_GRADIENTS[loss].format(z=zs)
    return "loss_grad", formula, [product(inner, 1 / count, where, meta)], None, details
