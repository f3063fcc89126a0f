"""The torch mirror of the pipeline: the same network as nn modules with our weights copied in.

Forward values are captured as the graph runs; gradients come from autograd (``retain_grad``).
Each is attached to the Stage of the same name as its ``reference``. This is the only module that
imports torch to compute, and it does so inside functions, so importing convtrace stays light.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..scenario.spec import Scenario
from .stage import Trace


def _torch_padding(s: Scenario):
    """How torch should pad: its own argument when it has an equivalent, else explicit F.pad.

    Returns (conv2d padding argument, F.pad tuple or None).
    """
    (pt, pb), (pl, pr) = s.pads
    if s.padding == "same" and s.stride == (1, 1):
        return "same", None  # torch's own rule; checks ours independently
    if s.padding == "same" or pt != pb or pl != pr:
        return 0, (pl, pr, pt, pb)  # torch refuses "same" for stride > 1: emulate it
    return (pt, pl), None


def compute_reference(
    s: Scenario,
    our_argmax: np.ndarray | None = None,
    rtol: float = 1e-5,
    our_conv_out: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Run the scenario's network in torch and return {stage name: torch's value}.

    our_argmax: our max-pool choice per window (N, C, H_out, W_out), used only to settle
    near-ties (see ``_settle_near_ties``). ``"pool.near_ties"`` in the answer counts them.
    our_conv_out: our H, used only to settle ReLU's decision for values within rounding of 0.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    dtype = {"float32": torch.float32, "float64": torch.float64}[s.dtype]

    def tensor(a):
        return torch.tensor(np.asarray(a), dtype=dtype)

    ref: dict[str, torch.Tensor] = {}
    n, c, h, w = s.x.shape
    f, _, kh, kw = s.conv_weight.shape
    conv_padding, explicit = _torch_padding(s)
    conv = nn.Conv2d(c, f, (kh, kw), s.stride, conv_padding, s.dilation).to(dtype)
    fc = nn.Linear(s.fc_weight.shape[1], s.fc_weight.shape[0]).to(dtype)
    with torch.no_grad():
        conv.weight.copy_(tensor(s.conv_weight))
        conv.bias.copy_(tensor(s.conv_bias))
        fc.weight.copy_(tensor(s.fc_weight))
        fc.bias.copy_(tensor(s.fc_bias))

    x = tensor(s.x).requires_grad_(True)
    ref["input"], ref["conv.weight"], ref["conv.bias"] = x, conv.weight, conv.bias
    (pt, pb), (pl, pr) = s.pads
    padded = F.pad(x, (pl, pr, pt, pb))
    if pt or pb or pl or pr:
        ref["conv.padded"] = padded
    ref["conv.cols"] = F.unfold(padded, (kh, kw), dilation=s.dilation, stride=s.stride)
    ref["conv.weight_rows"] = conv.weight.reshape(f, -1)
    with warnings.catch_warnings():
        # torch warns that "same" with an even kernel pads asymmetrically: that is the point
        warnings.filterwarnings("ignore", message=".*padding='same'.*")
        h_out = conv(F.pad(x, explicit) if explicit else x)
    h_out.retain_grad()
    ref["conv.out"] = h_out
    a = h_out
    if s.activation == "relu":
        a, ref["act.near_zero"] = _relu_settling_near_zero(h_out, our_conv_out, rtol)
        a.retain_grad()
        ref["act.out"] = a
    p = a
    if s.pool != "none":
        ph, pw = s.pool_size
        windows = F.unfold(a, s.pool_size, stride=s.pool_stride)
        ref["pool.cols"] = windows.reshape(n, f, ph * pw, -1)
        if s.pool == "max":
            p, indices = F.max_pool2d(a, s.pool_size, s.pool_stride, return_indices=True)
            chosen = _window_local_argmax(indices, a.shape[3], s.pool_size, s.pool_stride)
            p, chosen, ties = _settle_near_ties(p, chosen, ref["pool.cols"], our_argmax, rtol)
            ref["pool.argmax"], ref["pool.near_ties"] = chosen, torch.tensor(ties)
        else:
            p = F.avg_pool2d(a, s.pool_size, s.pool_stride)
        p.retain_grad()
        ref["pool.out"] = p
    flat = torch.flatten(p, 1)
    flat.retain_grad()
    ref["flatten.out"] = flat
    z = fc(flat)
    z.retain_grad()
    ref["fc.out"] = z
    if s.loss == "ce":
        loss = nn.CrossEntropyLoss()(z, torch.tensor(s.target, dtype=torch.long))
    elif s.loss == "mse":
        loss = nn.MSELoss()(z, tensor(s.target))
    else:
        loss = nn.BCEWithLogitsLoss()(z, tensor(s.target))
    ref["loss"] = loss
    loss.backward()

    ref["grad.fc.out"] = z.grad
    ref["grad.fc.weight"] = fc.weight.grad
    ref["grad.fc.bias"] = fc.bias.grad
    ref["grad.flatten.out"] = flat.grad
    if s.pool != "none":
        ref["grad.pool.out"] = p.grad
        ref["grad.pool.cols"] = _window_grad(s, p.grad, ref.get("pool.argmax"))
    if s.activation == "relu":
        ref["grad.act.out"] = a.grad
    ref["grad.conv.out"] = h_out.grad
    ref["grad.conv.weight"] = conv.weight.grad
    ref["grad.conv.bias"] = conv.bias.grad
    # dL/dX_col by autograd: the same product rebuilt on a leaf copy of torch's X_col. (A scalar
    # backward of <W_row @ X_col, dL/dH>: autograd.grad with grad_outputs would cost a 0.4 s
    # import of torch.fx on first use.)
    cols = ref["conv.cols"].detach().requires_grad_(True)
    rows_out = conv.weight.detach().reshape(f, -1) @ cols
    (rows_out * h_out.grad.reshape(n, f, -1)).sum().backward()
    d_cols = cols.grad
    ref["grad.conv.cols"] = d_cols
    ref["grad.input"] = x.grad
    return {k: v.detach().numpy().copy() for k, v in ref.items()}


def _relu_settling_near_zero(h, our_h, rtol):
    """ReLU(h), following our on/off decision where h is within rounding of 0 and the signs of
    ours and torch's differ (a gradient passes or not, though both values are right).
    Returns (activation, number of settled cells)."""
    import torch

    torch_on = h > 0
    if our_h is None:
        return torch.relu(h), torch.tensor(0)
    with torch.no_grad():
        our_on = torch.as_tensor(np.asarray(our_h) > 0)
        scale = torch.clamp(h.abs().amax(), min=1.0)
        settle = (torch_on != our_on) & (h.abs() <= rtol * scale)
    on = torch.where(settle, our_on, torch_on)
    return torch.where(on, h, torch.zeros_like(h)), settle.sum()


def _settle_near_ties(p, chosen, windows, our_argmax, rtol):
    """Follow our max-pool choice where torch's differs only by rounding.

    Two cells of a window can differ by a float rounding (our conv and torch's sum in different
    orders); then torch and we may pick different cells, and the gradient is routed to
    different places although both choices are right. Where torch's chosen value and the value
    of our choice agree within ``rtol``, torch's graph is rebuilt to take our cell (by
    ``gather``, so autograd still computes every gradient). A real disagreement is left as it
    is, to be reported. Returns (pooled, chosen, number of settled windows).
    """
    import torch

    if our_argmax is None:
        return p, chosen, 0
    ours = torch.as_tensor(np.asarray(our_argmax), dtype=torch.long).reshape(chosen.shape)
    n, c = chosen.shape[:2]
    flat_windows = windows.reshape(n, c, windows.shape[2], -1)
    value_of = lambda idx: flat_windows.gather(2, idx.reshape(n, c, 1, -1)).reshape(p.shape)  # noqa: E731
    with torch.no_grad():
        torch_value, our_value = value_of(chosen), value_of(ours)
        scale = torch.clamp(torch_value.abs(), min=1.0)
        tie = (chosen != ours) & ((torch_value - our_value).abs() <= rtol * scale)
    ties = int(tie.sum())
    if not ties:
        return p, chosen, 0
    settled = torch.where(tie, ours, chosen)
    return value_of(settled), settled, ties


def _window_local_argmax(indices, width: int, size, stride):
    """torch's flat argmax (row·W + col in the pooled map) -> our window-local u·kw + v."""
    import torch

    ho, wo = indices.shape[2:]
    i = torch.arange(ho).view(1, 1, ho, 1)
    j = torch.arange(wo).view(1, 1, 1, wo)
    u = indices // width - i * stride[0]
    v = indices % width - j * stride[1]
    return u * size[1] + v


def _window_grad(s: Scenario, d_pool, argmax):
    """torch's ∂L/∂P placed into window slots (N, C, kh·kw, L), by torch's own argmax."""
    import torch

    n, c = d_pool.shape[:2]
    size = s.pool_size[0] * s.pool_size[1]
    flat = d_pool.reshape(n, c, 1, -1)
    if argmax is None:
        return flat.repeat(1, 1, size, 1) / size
    grad = torch.zeros((n, c, size, flat.shape[-1]), dtype=d_pool.dtype)
    return grad.scatter(2, argmax.reshape(n, c, 1, -1), flat)


def attach_reference(trace: Trace) -> Trace:
    """Compute torch's values for the trace's scenario and attach each to its stage."""
    argmax = trace["pool.argmax"].values if "pool.argmax" in trace else None
    # a --bug's H is wrong on purpose: it must not settle torch's ReLU decisions
    our_h = None if getattr(trace.scenario, "bug", None) else trace["conv.out"].values
    reference = compute_reference(trace.scenario, argmax, trace.tolerance, our_h)
    for stage in trace:
        if stage.name in reference:
            ref = reference[stage.name]
            # with a --bug a stage may have the wrong shape: keep torch's, so it shows red
            planted = getattr(trace.scenario, "bug", None) and np.shape(ref) != stage.shape
            stage.reference = ref if planted else ref.reshape(stage.shape)
    _note_settled(
        trace,
        "act.out",
        "near_zero",
        reference.get("act.near_zero", 0),
        "value(s) within rounding of 0: torch follows our on/off decision",
    )
    _note_settled(
        trace,
        "pool.argmax",
        "near_ties",
        reference.get("pool.near_ties", 0),
        "window(s) hold two maxima equal up to rounding: torch follows our choice",
    )
    trace.has_reference = True
    return trace


def _note_settled(trace: Trace, stage_name: str, key: str, count, what: str) -> None:
    """Say on the stage how many decisions the reference settled our way (see above)."""
    count = int(count)
    if count:
        stage = trace[stage_name]
        stage.meta[key] = count
        stage.formula += f"  ({count} {what})"
