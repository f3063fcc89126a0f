"""Stages as Rich renderables: one panel per stage, verdict lines, and the closing table.

A panel shows the stage's formula, our tensor next to torch's (stacked when the width is short),
and a verdict: ``✓ matches torch · max |Δ| 0`` or ``✗ max |Δ| 3.1e-01 at [0, 1, 2, 2] …``.
Max pooling's chosen cells are marked ``[6]`` in the pooling input and its window views.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from rich import box
from rich.console import Group, RenderableType
from rich.constrain import Constrain
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from ..i18n import N_, _
from ..tracing.agreement import rule_text
from ..tracing.stage import Stage, Trace, max_abs_diff, worst_index
from .marks import highlights
from .tensors import Flow, format_number, tensor_summary, tensor_view

#: How the marked cells read, by kind of stage they appear in.
#: Panels show up to 16 columns (all of X_col's receptive fields in the default run) when the
#: width allows; grids elide more on narrower terminals.
PANEL_MAX_COLS = 16
#: Up to this many numbers, ours and torch's are compared as printed text for one-grid display.
IDENTICAL_TEXT_LIMIT = 20_000


def format_delta(diff: float) -> str:
    """``0`` for exact agreement, else two significant digits: ``3.1e-01``."""
    return "0" if diff == 0 else f"{diff:.1e}"


def _primary(stage: Stage) -> str:
    """Name of the method that produced ``stage.values`` (im2col when a loop twin exists)."""
    return "im2col" if "loop" in stage.alternatives else _("ours")


def _failures(stage: Stage, rtol: float) -> list[str]:
    """One phrase per comparison beyond tolerance (the rule of ``Stage.agrees``)."""
    primary = _primary(stage)
    phrases = []
    for name, other in stage.comparisons():
        if np.shape(other) != stage.shape:
            phrases.append(
                _("shapes differ · {ours} {shape} ≠ {name} {other}").format(
                    ours=primary, shape=stage.shape, name=_(name), other=np.shape(other)
                )
            )
            continue
        if stage.within(other, rtol):
            continue
        diff = max_abs_diff(stage.values, other)
        where = ""
        if stage.shape:
            index = ", ".join(map(str, worst_index(stage.values, other)))
            where = _(" at [{index}]").format(index=index)
        phrases.append(f"max |Δ| {format_delta(diff)}{where} · {primary} ≠ {_(name)}")
    return phrases


def verdict_text(stage: Stage, rtol: float, *, reference_ran: bool | None = None) -> Text:
    """The stage's verdict, one line (two when torch's own end-to-end run differs more than
    the rule allows, for rounding carried in from earlier stages: said, not counted).

    ``✓ matches torch · max |Δ| 0`` / ``✓ loop = im2col = torch · max |Δ| 0`` (ct.ok),
    ``✗ max |Δ| 3.1e-01 at [0, 1, 2, 2] · ours ≠ torch (|Δ| ≤ 1e-05·Σ|terms|)`` (ct.bad; one
    clause per failing comparison), or, with nothing to compare, ``· no torch equivalent``
    (when the reference ran: ``reference_ran=True``) / ``· not compared``. A saturated loss
    is said on every gradient stage.
    """
    agrees = stage.agrees(rtol)
    if agrees is None:
        text = Text(_("· no torch equivalent") if reference_ran else _("· not compared"), "ct.dim")
        return _with_notes(text + Text(numeric_clause(stage), "ct.dim"), stage, rtol)
    if agrees:
        names = [*stage.alternatives, _primary(stage)]
        names += ["torch"] if stage.torch is not None else []
        names += [_("numeric")] if stage.numeric_agrees() else []
        claim = " = ".join(names) if len(names) > 2 or stage.alternatives else _("matches torch")
        diff = stage.max_abs_diff
        text = f"✓ {claim}" + ("" if diff is None else f" · max |Δ| {format_delta(diff)}")
        return _with_notes(Text(text + numeric_clause(stage), "ct.ok"), stage, rtol)
    failures = _failures(stage, rtol)
    if stage.numeric_agrees() is False:
        error = stage.numeric.max_error(stage.values, stage.terms)
        failures.append(
            _("numeric error {error:.1e} > {tolerance:g} · {ours} ≠ numeric").format(
                error=error, tolerance=stage.numeric.tolerance, ours=_primary(stage)
            )
        )
    line = f"✗ {'; '.join(failures)} ({rule_text(rtol)})" + numeric_clause(stage)
    return _with_notes(Text(line, "ct.bad"), stage, rtol)


def _with_notes(text: Text, stage: Stage, rtol: float) -> Text:
    """The verdict, then torch's end-to-end difference when it exceeds the rule but was not
    counted, and the loss's saturation on a gradient stage."""
    diff = stage.end_to_end_diff
    if diff is not None and not stage.carried and not stage.within(stage.reference, rtol):
        text.append(
            "\n"
            + _(
                "· torch end to end: max |Δ| {diff} (rounding carried in from earlier stages; "
                "judged on this stage's own inputs)"
            ).format(diff=format_delta(diff)),
            "ct.dim",
        )
    if stage.is_gradient and stage.meta.get("saturated"):
        text.append("\n⚠ " + _(stage.meta["saturated"]), "ct.bad")
    return text


def numeric_clause(stage: Stage) -> str:
    """`` · numeric error 3.2e-09 on 18 of 18 cells`` (sampled, kinks skipped), or ``""``;
    `` · not checked numerically (all 18 cells sit at a max-pool tie)`` when no cell could be."""
    check = stage.numeric
    if check is None:
        return ""
    kinks = int(check.kinks.sum())
    if not check.checked:
        where = {
            frozenset({"maxpool"}): N_("all {kinks} cells sit at a max-pool tie"),
            frozenset({"relu"}): N_("all {kinks} cells sit at a ReLU kink (input 0)"),
        }.get(check.kink_kinds, N_("all {kinks} cells sit at a kink (max-pool tie or ReLU at 0)"))
        return " · " + _("not checked numerically ({where})").format(
            where=_(where).format(kinks=kinks)
        )
    error = check.max_error(stage.values, stage.terms)
    text = _(" · numeric error {error:.1e} on {checked} of {of:,} cells").format(
        error=error, checked=check.checked, of=check.of
    )
    text += _(" (sampled)") if check.sampled else ""
    skipped = _("; {kinks} at a kink (tie or ReLU at 0) skipped").format(kinks=kinks)
    return text + (skipped if kinks else "")


def shape_text(shape: tuple[int, ...]) -> str:
    return _("scalar") if not shape else str(tuple(shape))


def _title(stage: Stage) -> Text:
    return Text.assemble(
        (stage.name, "ct.name"),
        "  ",
        (shape_text(stage.shape), "ct.shape"),
        "  ",
        (_(stage.title), "ct.title"),
    )


def _formula_lines(formula: str) -> list[Text]:
    """The formula, one clause per line (clauses are separated by two spaces after ';')."""
    return [Text(part.strip(), "ct.formula") for part in formula.split(";  ") if part.strip()]


def values_identical(stage: Stage, precision: int, highlight, reference_highlight) -> bool:
    """Whether ours and torch's would print as the same picture, so one grid can stand for both.

    The rule (the caller also requires the stage to agree within tolerance): equal shapes, the
    max-pool marks (if any) are the same cells, and every number formats to the same text at
    ``precision`` (exactly equal arrays trivially do). A last-digit difference that shows keeps
    both grids. Above ``IDENTICAL_TEXT_LIMIT`` numbers only exactly equal arrays count (the
    text comparison is a Python loop).
    """
    reference = stage.reference
    if reference is None or np.shape(reference) != stage.shape:
        return False
    if reference_highlight is not None and highlight is not None:
        if not np.array_equal(np.asarray(reference_highlight), np.asarray(highlight)):
            return False
    ours, theirs = np.asarray(stage.values), np.asarray(reference)
    if np.array_equal(ours, theirs):
        return True
    if ours.size > IDENTICAL_TEXT_LIMIT:
        return False
    return all(
        format_number(a, precision) == format_number(b, precision)
        for a, b in zip(ours.flat, theirs.flat, strict=True)
    )


def _tensor_views(
    stage: Stage,
    rtol: float,
    precision: int,
    highlight,
    reference_highlight,
    *,
    side_by_side: bool = False,
    max_rows: int = 12,
    max_slices: int = 4,
) -> list[RenderableType]:
    """Ours and torch's values, or one ``ours = torch`` grid when they print identically (see
    ``values_identical``; ``side_by_side`` keeps both), plus a difference grid ``ours − torch``
    when the stage disagrees, and any other method's values that disagree with ours."""

    def view(label: str, values, mask=None) -> Group:
        if mask is not None and np.shape(mask) != np.shape(values):
            mask = None
        grid = tensor_view(
            values,
            precision=precision,
            highlight=mask,
            max_cols=PANEL_MAX_COLS,
            max_rows=max_rows,
            max_slices=max_slices,
            axes=stage.axes,
        )
        return Group(Text(label, "ct.label"), grid)

    ours = _("ours") if not stage.alternatives else f"{_('ours')} ({_primary(stage)})"
    reference = stage.reference
    agrees = stage.agrees(rtol)
    if (
        reference is not None
        and agrees
        and not side_by_side
        and values_identical(stage, precision, highlight, reference_highlight)
    ):
        views = [view(f"{ours} = torch", stage.values, highlight)]
    else:
        views = [view(ours, stage.values, highlight)]
        if reference is not None:
            mask = reference_highlight if reference_highlight is not None else highlight
            views.append(view("torch", reference, mask))
            if agrees is False and np.shape(reference) == stage.shape:
                difference = np.asarray(stage.values, dtype=np.float64) - np.asarray(
                    reference, dtype=np.float64
                )
                views.append(view(_("ours − torch"), difference))
    for name, values in stage.alternatives.items():
        if not stage.within(values, rtol):  # shown exactly when the verdict names it
            views.append(view(f"{_('ours')} ({name})", values, highlight))
    return views


def stage_panel(
    stage: Stage,
    *,
    rtol: float,
    precision: int = 4,
    width: int = 100,
    highlight=None,
    reference_highlight=None,
    legend: str | None = None,
    reference_ran: bool | None = None,
    side_by_side: bool = False,
    max_rows: int = 12,
    max_slices: int = 4,
) -> RenderableType:
    """One stage as a panel: formula, ours next to torch's (stacked if narrow), verdict.

    highlight: booleans over the stage's shape, cells to mark in ours (and in torch's, unless
    ``reference_highlight`` gives torch's own). legend: one dim line explaining the marks.
    Gradient stages get the ``ct.border.grad`` border, others ``ct.border``.
    side_by_side: keep ours and torch's grids even when they print identically.
    max_rows / max_slices: passed to ``tensor_view`` (smaller to fit a short terminal).
    """
    parts: list[RenderableType] = _formula_lines(_(stage.formula))
    if parts:
        parts.append(Text(""))
    views = _tensor_views(
        stage,
        rtol,
        precision,
        highlight,
        reference_highlight,
        side_by_side=side_by_side,
        max_rows=max_rows,
        max_slices=max_slices,
    )
    parts.append(Flow(views, gap=4) if len(views) > 1 else views[0])
    if highlight is not None and legend:
        parts.append(Text(_(legend), "ct.dim"))
    if "target" in stage.meta and stage.meta["target"] is not None:
        target = np.asarray(stage.meta["target"])
        shown = format_number(target.flat[0], precision) if target.size == 1 else None
        shown = shown or tensor_summary(target)
        parts.append(Text(_("target y = {value}").format(value=shown), "ct.dim"))
    if stage.meta.get("saturated") and not stage.is_gradient:  # a gradient's verdict says it
        parts.append(Text(f"⚠ {_(stage.meta['saturated'])}", "ct.bad"))
    parts.append(Text(""))
    parts.append(verdict_text(stage, rtol, reference_ran=reference_ran))
    panel = Panel(
        Group(*parts),
        title=_title(stage),
        title_align="left",
        border_style="ct.border.grad" if stage.is_gradient else "ct.border",
        box=box.ROUNDED,
    )
    return Constrain(panel, width)


def traced_panel(trace: Trace, stage: Stage, marks: dict, **options) -> RenderableType:
    """``stage_panel`` with the trace's tolerance and reference flag and the stage's max-pool
    marks (``marks``: ``highlights(trace)``); ``options``: stage_panel's display options."""
    mask, ref_mask, legend = marks.get(stage.name, (None, None, None))
    return stage_panel(
        stage,
        rtol=trace.tolerance,
        highlight=mask,
        reference_highlight=ref_mask,
        legend=legend,
        reference_ran=trace.has_reference,
        **options,
    )


def trace_renderables(
    trace: Trace,
    *,
    stages: Iterable[Stage | str] | None = None,
    precision: int = 4,
    width: int = 100,
    side_by_side: bool = False,
) -> list[RenderableType]:
    """Panels for ``stages`` (default: all), with "Forward" / "Backward" rules between them.

    The max-pooled cells are marked automatically in the stages that show them.
    side_by_side: keep ours and torch's grids even where they print identically.
    """
    chosen = (
        trace.stages if stages is None else [trace[s] if isinstance(s, str) else s for s in stages]
    )
    marks = highlights(trace)
    out: list[RenderableType] = []
    section = None
    for stage in chosen:
        heading = N_("Backward") if stage.is_gradient else N_("Forward")
        if stage.name.startswith(("update.", "momentum.")):
            heading = N_("After the gradient: one SGD step")
        if heading != section:
            out.append(Rule(Text(_(heading), "ct.heading"), style="ct.dim"))
            section = heading
        out.append(
            traced_panel(
                trace, stage, marks, precision=precision, width=width, side_by_side=side_by_side
            )
        )
    return out


def verdict_mark(stage: Stage, rtol: float) -> Text:
    agrees = stage.agrees(rtol)
    if agrees is None:
        return Text("—", "ct.dim")
    return Text("✓", "ct.ok") if agrees else Text("✗", "ct.bad")


def _values_brief(values: np.ndarray, precision: int, room: int, symbol: str = "x") -> str:
    """A few values (``[5, 5, -1, -4]``) when they fit in ``room`` characters, else the range
    named by the tensor's ``symbol`` (``W∈[-1, 1] μ=0 σ=0.8``)."""
    a = np.asarray(values)
    if a.ndim == 0:
        return format_number(a, precision)
    if a.size <= 8:
        text = "[" + ", ".join(format_number(v, precision) for v in a.flat) + "]"
        if len(text) <= room:
            return text
    summary = tensor_summary(a).split(" ", 3)
    text = summary[3] if len(summary) > 3 else summary[-1]
    text = symbol + text[1:] if text.startswith(("x∈", "x=")) else text
    return text if len(text) <= room else text[: room - 1] + "…"


def stage_summary_line(stage: Stage, rtol: float, precision: int = 4) -> Text:
    """One line: name, shape, a few values (or their range), ✓/✗/—. Fits in 80 columns."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{stage.name:<18} ", "ct.name")
    line.append(f"{shape_text(stage.shape):<15} ", "ct.shape")
    symbol = stage.symbol or stage.name
    line.append(f"{_values_brief(stage.values, precision, 42, symbol):<42} ")
    line.append_text(verdict_mark(stage, rtol))
    return line
