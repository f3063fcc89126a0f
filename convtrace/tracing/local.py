"""Each stage judged on its own: torch's value for it computed from OUR inputs to its layer, and
the Σ|terms| the agreement rule scales with (see :mod:`convtrace.tracing.agreement`).

Torch's end-to-end run (``reference.py``) feeds every layer torch's own previous output, so in
float32 the rounding of earlier stages is carried along: a sum of 338 terms of ±50 that cancels
to −3.3 differs by 2e-5 between two summation orders, and every gradient below it then differs
by a relative 2e-5 although each layer computed its part right. Here each layer's twin reads the
input our layer read and, backward, the output gradient our layer received; the loss reads our
logits. What is left is the layer's own rounding, which the rule bounds by its Σ|terms|. The
end-to-end comparison stays the second line of a verdict, counted only after an upstream stage
disagreed (a planted bug's error is carried downstream: those stages must not say ✓).

Σ|terms| comes from the same layers in numpy, run in float64 on the absolute values of their
input, parameters and output gradient (``|W|·|x| + |b|`` is the sum of the absolute terms of
``W·x + b``, and so on for every bilinear layer); selections (ReLU, max-pool, flatten) are
exact, so torch's own |value| covers them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.layers import TwinContext
from .agreement import within
from .network import build_network
from .stage import Trace


def _layer_io(trace: Trace):
    """(layer, what it read, the output gradient it received or None, the name of the stage
    its input gradient goes to), in order, from the trace's own stages."""
    a = np.asarray(trace["input"].values)
    rows = []
    for k, layer in enumerate(trace.layers):
        grad = f"grad.{layer.name}.out"
        dout = trace[grad].values if grad in trace else None
        into = f"grad.{trace.layers[k - 1].name}.out" if k else "grad.input"
        rows.append((layer, a, dout, into))
        a = layer.next_input(trace[f"{layer.name}.out"].values)
    return rows, a


def torch_loss(kind: str, z, target, ctx: TwinContext):
    """torch's loss (mean reduction) of logits ``z`` against ``target``."""
    import torch
    from torch import nn

    if kind == "ce":
        return nn.CrossEntropyLoss()(z, torch.tensor(np.asarray(target), dtype=torch.long))
    if kind == "mse":
        return nn.MSELoss()(z, ctx.tensor(target))
    return nn.BCEWithLogitsLoss()(z, ctx.tensor(target))


def local_reference(trace: Trace) -> dict[str, np.ndarray]:
    """{stage name: torch's value computed from our inputs to that stage's layer}."""
    import torch

    s = trace.scenario
    dtype = {"float32": torch.float32, "float64": torch.float64}[s.dtype]
    ctx = TwinContext(dtype=dtype, rtol=trace.tolerance, settle=False, params=s.params)
    rows, logits = _layer_io(trace)
    ref: dict = {}
    for layer, a, dout, into in rows:
        twin = layer.twin(ctx)
        x = ctx.tensor(a).requires_grad_(True)
        out = twin.forward(x)
        ref.update({f"{layer.name}.{suffix}": v for suffix, v in twin.values.items()})
        ref[f"{layer.name}.out"] = out
        if dout is None or not out.requires_grad or tuple(out.shape) != np.shape(dout):
            continue  # forward only, or a planted bug changed the shape (judged by shape)
        out.retain_grad()
        # a scalar backward of <out, dout>: out.backward(dout) would import torch.fx (1.4 s)
        (out * ctx.tensor(dout)).sum().backward()
        ref.update({f"grad.{layer.name}.{k}": v for k, v in twin.gradients().items()})
        ref[into] = x.grad
    if "loss" in trace:
        z = ctx.tensor(logits).requires_grad_(True)
        loss = torch_loss(s.loss, z, s.target, ctx)
        ref["loss"] = loss
        if f"grad.{trace.layers[-1].name}.out" in trace:
            loss.backward()
            ref[f"grad.{trace.layers[-1].name}.out"] = z.grad
    return {k: v.detach().numpy().copy() for k, v in ref.items() if v is not None}


@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def term_sums(trace: Trace) -> dict[str, np.ndarray]:
    """{stage name: Σ|terms| of each cell}, float64, for the stages a layer computes."""
    s = trace.scenario
    rows, logits = _layer_io(trace)
    params = {k: np.abs(np.asarray(v, np.float64)) for k, v in s.params.items()}
    clean = replace(s, x=np.abs(np.asarray(s.x, np.float64)), params=params, bug=None,
                    method="im2col", dtype="float64")  # fmt: skip
    sums: dict[str, np.ndarray] = {}
    for (layer, a, dout, into), twin in zip(rows, build_network(clean), strict=True):
        if hasattr(layer, "term_sums"):  # not bilinear (bn): the layer bounds its own rounding
            for key, value in layer.term_sums(np.asarray(a, np.float64), dout).items():
                if key == "grad.input":
                    sums[into] = value
                elif key.startswith("grad."):
                    sums[f"grad.{layer.name}.{key[5:]}"] = value
                else:
                    sums[f"{layer.name}.{key}"] = value
            continue
        a = np.abs(np.asarray(a, np.float64))
        out = twin.forward(a)
        for record in twin.records(a, out):
            sums[f"{layer.name}.{record.suffix}"] = np.abs(np.asarray(record.values, np.float64))
        if dout is None or np.shape(dout) != np.shape(out):
            continue
        dx = twin.backward(np.abs(np.asarray(dout, np.float64)))
        for record in twin.grad_records():
            sums[f"grad.{layer.name}.{record.suffix}"] = np.abs(np.asarray(record.values))
        sums[into] = np.abs(np.asarray(dx, np.float64))
    if "loss" in trace:
        sums.update(_loss_sums(s.loss, np.asarray(logits, np.float64), s.target,
                               trace.layers[-1].name))  # fmt: skip
    return sums


def _loss_sums(kind: str, z: np.ndarray, target, last: str) -> dict[str, np.ndarray]:
    """Σ|terms| of the loss and of ∂L/∂z (σ(z) + |y| for σ(z) − y, and so on), per cell."""
    az = np.abs(z)
    if kind == "ce":
        n, k = z.shape
        top = z.max(axis=1, keepdims=True)
        soft = np.exp(z - top) / np.exp(z - top).sum(axis=1, keepdims=True)
        picked = az[np.arange(n), np.asarray(target, int)]
        loss = np.mean(az.max(axis=1) + np.log(k) + picked)
        hot = np.zeros_like(z)
        hot[np.arange(n), np.asarray(target, int)] = 1.0
        grad = (soft + hot) / n
    else:
        y = np.abs(np.asarray(target, np.float64))
        if kind == "mse":
            loss, grad = np.mean((az + y) ** 2), 2 * (az + y) / z.size
        else:
            sigma = np.exp(-np.logaddexp(0.0, -z))
            loss = np.mean(az + az * y + np.log1p(np.exp(-az)))
            grad = (sigma + y) / z.size
    return {"loss": np.asarray(loss), f"grad.{last}.out": grad}


def attach_local(trace: Trace) -> Trace:
    """Attach torch's local values (``Stage.local``) and Σ|terms| (``Stage.terms``), then mark
    the stages after a local disagreement (``Stage.carried``): their end-to-end comparison
    with torch counts too."""
    local, sums = local_reference(trace), term_sums(trace)
    for stage in trace:
        value = local.get(stage.name)
        stage.local = value
        terms = sums.get(stage.name)
        if terms is not None and value is not None and np.shape(value) == np.shape(terms):
            terms = np.maximum(terms, np.abs(np.asarray(value, np.float64)))
        stage.terms = terms if terms is not None and terms.shape == stage.shape else None
    mark_carried(trace)
    return trace


def mark_carried(trace: Trace) -> None:
    """``carried`` on every stage after the first one that disagrees on its own inputs; for
    those, ``drift``: how far torch's own end-to-end float32 run drifts from the same run in
    float64 (the rounding it carries), which the end-to-end comparison allows twice over."""
    upstream = False
    for stage in trace:
        stage.carried = upstream
        pairs = stage.own_comparisons()
        if any(not within(stage.values, other, stage.terms, trace.tolerance) for _, other in pairs):
            upstream = True
    if upstream and trace.dtype != "float64":
        wide = _wide_reference(trace)
        for stage in trace:
            theirs = wide.get(stage.name)
            if stage.carried and stage.reference is not None and theirs is not None:
                if np.shape(theirs) == np.shape(stage.reference):
                    stage.drift = np.abs(np.asarray(stage.reference, np.float64) - theirs)


def _wide_reference(trace: Trace) -> dict[str, np.ndarray]:
    """torch's end-to-end values for the same run in float64."""
    from .reference import compute_reference

    s = trace.scenario
    params = {k: np.asarray(v, np.float64) for k, v in s.params.items()}
    wide = replace(s, x=np.asarray(s.x, np.float64), params=params, dtype="float64")
    values, _notes = compute_reference(Trace(scenario=wide, dtype="float64", layers=trace.layers))
    return values
