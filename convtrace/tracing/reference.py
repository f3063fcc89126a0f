"""The torch mirror of the pipeline: a loop over the layers' twins, with our weights copied in.

Forward values are captured as the graph runs; gradients come from autograd (``retain_grad``
on every layer's output). Each is attached to the Stage of the same name as its
``reference``. torch is imported inside functions (here and in the twins), so importing
convtrace stays light.
"""

from __future__ import annotations

import numpy as np

from ..core.layers import TwinContext
from .stage import Trace


def compute_reference(trace: Trace) -> tuple[dict[str, np.ndarray], list]:
    """Run the trace's network in torch: ({stage name: torch's value}, notes).

    notes: (stage name, key, count, sentence) for decisions settled our way (rounding ties).
    """
    import torch

    from .local import torch_loss

    s = trace.scenario
    dtype = {"float32": torch.float32, "float64": torch.float64}[s.dtype]
    # a --bug's H is wrong on purpose: it must not settle torch's decisions our way
    ctx = TwinContext(dtype=dtype, rtol=trace.tolerance, settle=not s.bug, params=s.params)
    ref: dict[str, torch.Tensor] = {}
    x = ctx.tensor(s.x).requires_grad_(True)
    ref["input"] = x
    twins, outputs, notes = [], [], []
    a = x
    for layer in trace.layers:
        twin = layer.twin(ctx)
        a = twin.forward(a)
        if a.requires_grad:
            a.retain_grad()
        for suffix, value in twin.values.items():
            ref[f"{layer.name}.{suffix}"] = value
        ref[f"{layer.name}.out"] = a
        notes += [(f"{layer.name}.{suffix}", *rest) for suffix, *rest in twin.notes]
        twins.append(twin)
        outputs.append(a)
    loss = torch_loss(s.loss, a, s.target, ctx)
    ref["loss"] = loss
    loss.backward()
    for layer, twin, out in zip(trace.layers, twins, outputs, strict=True):
        ref[f"grad.{layer.name}.out"] = out.grad
        for suffix, value in twin.gradients().items():
            ref[f"grad.{layer.name}.{suffix}"] = value
    ref["grad.input"] = x.grad
    values = {k: v.detach().numpy().copy() for k, v in ref.items() if v is not None}
    return values, notes


def attach_reference(trace: Trace, local: bool = True) -> Trace:
    """Compute torch's values for the trace's network and attach each to its stage; with
    ``local``, also torch's value of each stage from our inputs and its Σ|terms| (what the
    verdict judges: see convtrace.tracing.local)."""
    reference, notes = compute_reference(trace)
    for stage in trace:
        if stage.name in reference:
            ref = reference[stage.name]
            # with a --bug a stage may have the wrong shape: keep torch's, so it shows red
            planted = getattr(trace.scenario, "bug", None) and np.shape(ref) != stage.shape
            stage.reference = ref if planted else ref.reshape(stage.shape)
    for name, key, count, what in notes:
        if int(count) and name in trace:
            stage = trace[name]
            stage.meta[key] = int(count)
            stage.formula += f"  ({int(count)} {what})"
    trace.has_reference = True
    if local:
        from .local import attach_local

        attach_local(trace)
    return trace
