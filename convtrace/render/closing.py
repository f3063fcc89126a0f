"""The run's closing lines: the table of every stage's verdict, the count of stages that agree,
and the list of those that do not (the terminal's and the Markdown handout's)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from ..i18n import _, plural
from ..tracing.agreement import rule_text
from ..tracing.stage import Stage
from .stages import format_delta, shape_text, verdict_mark


def closing_table(stages: Sequence[Stage], rtol: float) -> Table:
    """Stage, shape, max |Δ| and ✓/✗ (— when not compared), with a count in the caption."""
    stages = list(stages)
    table = Table(box=box.SIMPLE_HEAD, caption_justify="left", header_style="bold")
    table.add_column(_("stage"), style="ct.name", no_wrap=True)
    table.add_column(_("shape"), style="ct.shape", no_wrap=True)
    table.add_column("max |Δ|", justify="right")
    table.add_column("", justify="center")
    for stage in stages:
        diff = stage.max_abs_diff
        table.add_row(
            stage.name,
            shape_text(stage.shape),
            "—" if diff is None else format_delta(diff),
            verdict_mark(stage, rtol),
        )
    caption = agreement_line(stages, rtol)
    table.caption = caption
    table.min_width = caption.cell_len + 2  # one caption line, even for a short table
    return table


def agreement_line(stages: Sequence[Stage], rtol: float) -> Text:
    """``✓ 25 of 25 stages agree · |Δ| ≤ 1e-05·Σ|terms|`` (``· 2 not compared`` when some
    were not): the count and the rule it was judged by."""
    stages = list(stages)
    compared = [v for v in (s.agrees(rtol) for s in stages) if v is not None]
    line = Text(
        _("{mark} {agreeing} of {total} stages agree").format(
            mark="✓" if all(compared) else "✗", agreeing=sum(compared), total=len(compared)
        )
        + " · "
        + rule_text(rtol),
        "ct.ok" if all(compared) else "ct.bad",
    )
    if len(compared) < len(stages):
        line.append(
            _(" · {count} not compared").format(count=len(stages) - len(compared)), "ct.dim"
        )
    return line


def disagreement_line(failing: Sequence[str]) -> str:
    """``✗ 2 stages disagree: conv.out, pool.out``."""
    return plural(
        "✗ {n} stage disagrees: {names}",
        "✗ {n} stages disagree: {names}",
        len(failing),
        names=", ".join(failing),
    )
