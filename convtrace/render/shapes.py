"""Rich view of ``convtrace shapes``: the output-size arithmetic, axis by axis."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text


def _coverage(axis) -> Text:
    """One character per padded position: pad '·', read '█', never read '░'."""
    unread = set(axis.unread)
    text = Text()
    text.append("·" * axis.pad_before, style="ct.dim")
    for i in range(axis.size):
        text.append("░" if i in unread else "█", style="ct.bad" if i in unread else "ct.ok")
    text.append("·" * axis.pad_after, style="ct.dim")
    return text


def shapes_view(axes, padding) -> Panel:
    """A panel with a table of both axes, their formulas and coverage strips."""
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for column in ("axis", "in", "kernel (span)", "stride", "pad before/after", "out"):
        table.add_column(column, justify="right" if column != "axis" else "left")
    lines = []
    for a in axes:
        rows = "rows" if a.axis == "H" else "columns"
        table.add_row(
            a.axis,
            str(a.size),
            f"{a.kernel} ({a.span})",
            str(a.stride),
            f"{a.pad_before} / {a.pad_after}",
            f"[bold]{a.out}[/]",
        )
        lines.append(Text(a.formula, style="ct.formula"))
        if a.unread:
            lines.append(
                Text(
                    f"  input {rows} never read (the last partial stride is floored away): "
                    + ", ".join(map(str, a.unread)),
                    style="ct.bad",
                )
            )
        else:
            lines.append(Text(f"  every input {rows[:-1]} is read by some window", style="ct.ok"))
        strip = Text(f"  {rows:<8}")
        strip.append_text(_coverage(a))
        lines.append(strip)
    legend = Text("  · padding   █ read   ░ never read", style="ct.dim")
    out = axes[0].out, axes[1].out
    title = f"padding {padding!r} → output {out[0]}×{out[1]}"
    return Panel(Group(table, Text(""), *lines, legend), title=title, title_align="left")
