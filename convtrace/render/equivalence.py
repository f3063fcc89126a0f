"""The panel of ``convtrace run --convt``: a conv's input gradient computed a second way, as a
transposed convolution of ∂L/∂H with the conv's weights, with both maps named and checked."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from ..i18n import _
from ..tracing.stage import max_abs_diff
from .stages import format_delta
from .tensors import tensor_view


def equivalence_panel(trace, stage, precision: int = 4) -> RenderableType:
    """∂L/∂H (convT's input, the small map), convT's output and the trace's ∂L/∂x, with the
    largest differences (ours by the scatter, and torch's conv_transpose2d)."""
    e = stage.meta["convt"]
    rtol, grad = trace.tolerance, trace[e.grad_stage]
    lines: list[RenderableType] = [
        Text(
            _(
                "{stage} (the conv's backward: col2im of W_rowᵀ @ ∂L/∂H) equals a transposed "
                "convolution with the same weights:"
            ).format(stage=e.stage),
            "ct.dim",
        ),  # fmt: skip
        Text(f"  {e.call}", "ct.formula"),
        Text(
            _("its input (the small map): {grad} {shape}").format(
                grad=e.grad_stage, shape=grad.shape
            ),
            "ct.label",
        ),  # fmt: skip
        tensor_view(grad.values, precision=precision, max_slices=2, axes=grad.axes),
        Text(
            _(
                "its output (the big map), every ∂L/∂H pixel adding a weighted copy of the "
                "kernel ({method}):"
            ).format(method=e.method),
            "ct.label",
        ),  # fmt: skip
        tensor_view(e.values, precision=precision, max_slices=2, axes=stage.axes),
    ]
    # judged by the stage's own rule (Stage.within: the trace's values against the other)
    checks = [(_("convT(∂L/∂H) vs {label}: max |Δ| {diff}"), e.values)]
    if e.torch is not None:
        checks.append((_("torch's F.conv_transpose2d of ∂L/∂H vs ours: max |Δ| {diff}"), e.torch))
    label = _("the trace's {stage}").format(stage=e.stage)
    for text, values in checks:
        ok = stage.within(values, rtol)
        diff = format_delta(max_abs_diff(values, stage.values))
        mark, style = ("✓", "ct.ok") if ok else ("✗", "ct.bad")
        lines.append(Text(f"{mark} " + text.format(label=label, diff=diff), style))
    title = _("{stage} = convT({grad})").format(stage=e.stage, grad=e.grad_stage)
    return Panel(Group(*lines), title=title, title_align="left")
