"""A convolution's input gradient is a transposed convolution of ∂L/∂H with the same weights.

The conv's backward computes ∂L/∂x as ``col2im(W_rowᵀ @ ∂L/∂H)``; a transposed convolution
with the conv's weights W (F, C, kh, kw) (read as (in, out, kh, kw): F input channels, C
output channels), its stride, padding and dilation, applied to ∂L/∂H, gives the same numbers::

    ∂L/∂x = convT(∂L/∂H; W, stride s, padding p, output_padding op, dilation d)
    op    = H − ((H_out − 1)·s − 2p + d·(k − 1) + 1)   (the rows a flooring stride never read)

``attach_convt`` (``convtrace run --convt``) computes the right-hand side by the transposed
convolution's own scatter (every ∂L/∂H pixel adds its weighted copy of W) and by torch's
``F.conv_transpose2d``, and attaches it to the conv's input-gradient stage as another method:
the stage's verdict then says whether the numbers are the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.layers.conv_transpose import scatter_gemm, scatter_loop
from ..i18n import Msg

#: Above this many ∂L/∂H pixels the scatter runs as one GEMM + col2im instead of loops.
LOOP_LIMIT = 20_000
#: The alternative's name on the stage (its verdict reads "convT = im2col = torch").
NAME = "convT"


@dataclass
class Equivalence:
    """One conv layer's input gradient against convT of its ∂L/∂H.

    values: convT(∂L/∂H) by our scatter; torch: the same by ``F.conv_transpose2d`` (None
    without torch); call: the transposed convolution written as torch's call.
    """

    conv: str
    stage: str
    grad_stage: str
    call: str
    values: np.ndarray
    torch: np.ndarray | None
    method: str


def input_stage(trace, k: int) -> str:
    """The stage of the k-th layer's input gradient."""
    return "grad.input" if k == 0 else f"grad.{trace.layers[k - 1].name}.out"


def _call(layer, pads, op) -> str:
    (pt, pb), (pl, pr) = pads
    f, c, kh, kw = np.shape(layer.weight)
    symmetric = pt == pb and pl == pr
    padding = f"({pt}, {pl})" if symmetric else f"top {pt} bottom {pb} left {pl} right {pr}"
    extra = f", output_padding=({op[0]}, {op[1]})" if symmetric else " (cropped)"
    return (
        f"ConvTranspose2d({f}, {c}, ({kh}, {kw}), stride={tuple(layer.stride)}, "
        f"padding={padding}{extra}, dilation={tuple(layer.dilation)}, bias=False)"
    )


def _torch(dh, weight, layer, pads, out_hw, op):
    """torch's F.conv_transpose2d of dh: with padding and output_padding when the padding is
    symmetric (as nn.ConvTranspose2d takes it), else the full map cropped."""
    import torch
    import torch.nn.functional as F

    (pt, pb), (pl, pr) = pads
    g = torch.tensor(dh)
    w = torch.tensor(np.asarray(weight, dh.dtype))
    if pt == pb and pl == pr and max(op[0], op[1]) < max(*layer.stride, *layer.dilation):
        out = F.conv_transpose2d(g, w, None, layer.stride, (pt, pl), op, 1, layer.dilation)
        return out.numpy()
    out = F.conv_transpose2d(g, w, None, layer.stride, 0, 0, 1, layer.dilation).numpy()
    cropped = np.zeros((*dh.shape[:1], w.shape[1], *out_hw), dh.dtype)
    part = out[:, :, pt : pt + out_hw[0], pl : pl + out_hw[1]]
    cropped[:, :, : part.shape[2], : part.shape[3]] = part
    return cropped


def conv_equivalences(trace, torch: bool = True) -> list[Equivalence]:
    """One Equivalence per conv layer whose input gradient is in the trace."""
    out = []
    for k, layer in enumerate(trace.layers):
        stage, grad = input_stage(trace, k), f"grad.{layer.name}.out"
        if layer.family != "conv" or stage not in trace or grad not in trace:
            continue
        dh = np.asarray(trace[grad].values)
        weight = np.asarray(layer.weight, dh.dtype)
        out_hw = trace[stage].shape[2:]
        pads = layer.pads
        (kh, kw) = weight.shape[2:]
        full = [(dh.shape[2 + a] - 1) * layer.stride[a] + layer.dilation[a] * ((kh, kw)[a] - 1)
                + 1 for a in range(2)]  # fmt: skip
        op = (out_hw[0] - full[0] + sum(pads[0]), out_hw[1] - full[1] + sum(pads[1]))
        method = "loop" if dh.size <= LOOP_LIMIT else "im2col"
        scatter = scatter_loop if method == "loop" else (lambda *a: scatter_gemm(*a)[0])
        values = scatter(dh, weight, layer.stride, pads, layer.dilation, out_hw)
        reference = _torch(dh, weight, layer, pads, out_hw, op) if torch else None
        out.append(Equivalence(layer.name, stage, grad, _call(layer, pads, op), values,
                               reference, method))  # fmt: skip
    return out


def attach_convt(trace, torch: bool = True) -> list[Equivalence]:
    """Attach convT(∂L/∂H) to each conv's input-gradient stage as the method ``convT``, its
    formula a line saying so, and the Equivalence in ``meta["convt"]``."""
    found = conv_equivalences(trace, torch)
    for e in found:
        stage = trace[e.stage]
        stage.alternatives[NAME] = e.values
        if e.torch is not None:
            stage.alternatives["torch convT"] = e.torch
        stage.meta["convt"] = e
        stage.formula = Msg(
            "{formula};  = convT(∂L/∂{H}) with {conv}'s weights: {call}",
            formula=stage.formula,
            H=trace[e.grad_stage].title.removeprefix("∂L/∂"),
            conv=e.conv,
            call=e.call,
        )
    return found
