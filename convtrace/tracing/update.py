"""After the gradient: one SGD step as stages of the trace.

For every parameter W of the network (``conv.weight``, ``fc.bias``, …), after the backward
stages: ``momentum.<layer>.<part>`` (the buffer B, when μ > 0) and ``update.<layer>.<part>``
(W − η·B, the new values), then ``update.loss``, the loss of the same batch after the step. torch's
column is ``torch.optim.SGD``'s step on torch's own parameters with torch's own gradients, and
torch's loss after it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.optim import SGD
from ..i18n import Msg
from .network import build_network
from .pipeline import LOSSES, run_pipeline
from .stage import Stage, Trace

UPDATE_PREFIXES = ("update.", "momentum.")


def is_update_stage(name: str) -> bool:
    return name.startswith(UPDATE_PREFIXES)


def update_stage_names(layers, momentum: float) -> list[str]:
    """The stage names one step adds, in order (for --only and explain, before any work)."""
    names = []
    for layer in layers:  # layers or LayerSpecs: a parameter is a weight/bias with a gradient
        kind = getattr(layer, "cls", type(layer))
        for part in (p for p in ("weight", "bias") if p in kind.GRAD_SUFFIXES):
            if momentum:
                names.append(f"momentum.{layer.name}.{part}")
            names.append(f"update.{layer.name}.{part}")
    return [*names, "update.loss"]


def forward_loss(layers, x: np.ndarray, target, loss: str) -> np.ndarray:
    """The loss of the batch through ``layers`` (their forward caches are refreshed)."""
    a = x
    for layer in layers:
        a = layer.next_input(layer.forward(a))
    return np.asarray(LOSSES[loss]().forward(a, target), dtype=x.dtype)


def step_formula(sgd: SGD, symbol: str, grad: str) -> str:
    """``W ← W − η·∂L/∂W`` with η's value (and B's rule with momentum)."""
    eta = f"η = {sgd.lr:g}"
    if sgd.momentum:
        return f"{symbol} ← {symbol} − η·B  ({eta}, μ = {sgd.momentum:g})"
    if sgd.weight_decay:
        return f"{symbol} ← {symbol} − η·({grad} + λ·{symbol})  ({eta}, λ = {sgd.weight_decay:g})"
    return f"{symbol} ← {symbol} − η·{grad}  ({eta})"


def buffer_formula(sgd: SGD, symbol: str, grad: str) -> str:
    decay = f" + λ·{symbol}" if sgd.weight_decay else ""
    lam = f", λ = {sgd.weight_decay:g}" if sgd.weight_decay else ""
    return f"B ← μ·B + {grad}{decay}  (μ = {sgd.momentum:g}{lam}; B = {grad}{decay} at step 1)"


def loss_change(before: float, after: float) -> str:
    """``loss 18 → 9.3``."""
    return f"loss {before + 0.0:.4g} → {after + 0.0:.4g}"  # + 0.0: no "-0"


def next_step(trace: Trace, sgd: SGD) -> Trace:
    """The trace after taking the step ``trace`` shows (its ``update.*`` values become the
    parameters): the same batch, forward, backward, torch's values, and the next step's stages
    (momentum carried on, ours in ``sgd``, torch's from the ``momentum.*`` stages' reference)."""
    s = trace.scenario
    new = {name.removeprefix("update."): st.values for st in trace
           if (name := st.name).startswith("update.") and name != "update.loss"}  # fmt: skip
    buffers = {st.name.removeprefix("momentum."): st.reference for st in trace
               if st.name.startswith("momentum.") and st.reference is not None}  # fmt: skip
    after = run_pipeline(replace(s, params={**s.params, **new}))
    if trace.has_reference:
        from .reference import attach_reference

        attach_reference(after)
    return attach_update(after, sgd, torch_buffers=buffers)


@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def attach_update(trace: Trace, sgd: SGD, *, reference: bool | None = None,
                  torch_buffers: dict | None = None) -> Trace:  # fmt: skip
    """Add one SGD step's stages to a trace that ran backward (see the module's docstring).

    The trace's layers keep their parameters and caches (explain still reads them); the step
    is taken on copies, and the loss after it by fresh layers. ``reference``: also take
    torch's step (default: when the trace has torch's values); ``torch_buffers``: torch's
    momentum buffers from the step before (none: this is the first step).
    """
    s = trace.scenario
    reference = trace.has_reference if reference is None else reference
    new, buffers = {}, {}
    for layer in trace.layers:
        for part, value in layer.params.items():
            name = f"{layer.name}.{part}"
            new[name] = sgd.step(name, value, layer.grads[part])
            if sgd.momentum:
                buffers[name] = sgd.buffers[name]
    after_layers = build_network(replace(s, params={**s.params, **new}))
    after = forward_loss(after_layers, s.x, s.target, s.loss)
    earlier = torch_buffers or {}
    torch_new, torch_buffers, torch_after = {}, {}, None
    if reference:
        torch_new, torch_buffers, torch_after = _torch_step(trace, sgd, after_layers, earlier)
    for layer in trace.layers:
        for part in layer.params:
            name = f"{layer.name}.{part}"
            _add_param_stages(trace, sgd, name, new, buffers, torch_new, torch_buffers)
    before = float(trace["loss"].values)
    trace.add(
        Stage(
            "update.loss",
            Msg("Loss after one SGD step"),
            after,
            loss_change(before, float(after)),
            reference=None if torch_after is None else np.asarray(torch_after, after.dtype),
            meta={"before": before, "after": float(after), "lr": sgd.lr},
            axes=(),
            symbol="L'",
        )
    )
    return trace


def _add_param_stages(trace, sgd, name, new, buffers, torch_new, torch_buffers) -> None:
    source = trace[name] if name in trace else None
    symbol = (source.symbol if source is not None else None) or name
    axes = source.axes if source is not None else None
    grad = f"∂L/∂{symbol}"
    if sgd.momentum:
        trace.add(
            Stage(
                f"momentum.{name}",
                Msg("Momentum buffer of {name}", name=name),
                buffers[name],
                buffer_formula(sgd, symbol, grad),
                reference=torch_buffers.get(name),
                axes=axes,
                meta={"lr": sgd.lr, "momentum": sgd.momentum, "weight_decay": sgd.weight_decay},
                symbol="B",
            )
        )
    trace.add(
        Stage(
            f"update.{name}",
            Msg("{name} after one SGD step", name=name),
            new[name],
            step_formula(sgd, symbol, grad),
            reference=torch_new.get(name),
            axes=axes,
            meta={"lr": sgd.lr, "momentum": sgd.momentum, "weight_decay": sgd.weight_decay},
            symbol=f"{symbol}'",
        )
    )


def _torch_step(trace: Trace, sgd: SGD, after_layers, buffers: dict):
    """torch.optim.SGD's step from the run's parameters: (new values, momentum buffers, loss
    after the step), each from torch's own numbers."""
    from .torch_loop import TorchModel

    s = trace.scenario
    start = {f"{layer.name}.{part}": s.params.get(f"{layer.name}.{part}", value)
             for layer in trace.layers for part, value in layer.params.items()}  # fmt: skip
    model = TorchModel(trace.layers, start, s.dtype, lr=sgd.lr, momentum=sgd.momentum,
                       weight_decay=sgd.weight_decay, rtol=trace.tolerance,
                       settle=not s.bug, buffers=buffers)  # fmt: skip
    model.step(s.x, s.target, s.loss)
    # the loss after: torch's new parameters, through twins that follow the after-step layers
    after = model.loss(s.x, s.target, s.loss, layers=after_layers)
    return model.values(), model.buffers(), float(after.detach())
