"""Rich view of ``convtrace shapes``: the output-size arithmetic, axis by axis."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..core.geometry import read_mask
from ..i18n import N_, _

#: The coverage strip never grows beyond this many characters, whatever the size.
STRIP_WIDTH = 64


def _coverage(axis, width: int = STRIP_WIDTH) -> Text:
    """Padded positions as a strip of at most ``width`` characters: pad '·', read '█', never
    read '░'. One character per position when they fit; else each character stands for a run
    of positions and shows '░' if any of them is never read."""
    mask = read_mask(
        axis.size, axis.kernel, axis.stride, axis.dilation, axis.pad_before, axis.pad_after
    )
    padded = len(mask)
    per_cell = -(-padded // width)  # ceil: positions per character
    text = Text()
    for start in range(0, padded, per_cell):
        stop = min(start + per_cell, padded)
        inside = (max(start, axis.pad_before), min(stop, axis.pad_before + axis.size))
        if inside[0] >= inside[1]:
            text.append("·", style="ct.dim")
        elif 0 in mask[inside[0] : inside[1]]:
            text.append("░", style="ct.bad")
        else:
            text.append("█", style="ct.ok")
    return text


def shapes_view(axes, padding) -> Panel:
    """A panel with a table of both axes, their formulas and coverage strips."""
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    columns = (N_("axis"), N_("in"), N_("kernel (span)"), N_("stride"), N_("pad before/after"),
               N_("out"))  # fmt: skip
    for column in columns:
        table.add_column(_(column), justify="right" if column != "axis" else "left")
    lines = []
    for a in axes:
        rows = _("rows") if a.axis == "H" else _("columns")
        table.add_row(
            a.axis,
            str(a.size),
            f"{a.kernel} ({a.span})",
            str(a.stride),
            f"{a.pad_before} / {a.pad_after}",
            f"[bold]{a.out}[/]",
        )
        lines.append(Text(_(a.formula), style="ct.formula"))
        if a.unread:
            lines.append(
                Text(
                    (
                        _("  input rows never read (the last partial stride is floored away): ")
                        if a.axis == "H"
                        else _(
                            "  input columns never read (the last partial stride is floored away): "
                        )
                    )
                    + ", ".join(map(str, a.unread))
                    + (
                        _(", … ({count:,} in all)").format(count=a.unread_count)
                        if a.unread_count > len(a.unread)
                        else ""
                    ),
                    style="ct.bad",
                )
            )
        else:
            every = (
                _("  every input row is read by some window")
                if a.axis == "H"
                else _("  every input column is read by some window")
            )
            lines.append(Text(every, style="ct.ok"))
        strip = Text(f"  {rows:<8}" if len(rows) < 8 else f"  {rows} ")  # columnas: 8 letters
        strip.append_text(_coverage(a))
        lines.append(strip)
    legend = Text(_("  · padding   █ read   ░ never read"), style="ct.dim")
    per_cell = max(-(-(a.size + a.pad_before + a.pad_after) // STRIP_WIDTH) for a in axes)
    if per_cell > 1:
        legend.append(_("   (up to {count:,} positions per character)").format(count=per_cell))
    out = axes[0].out, axes[1].out
    title = _("padding {padding!r} → output {h}×{w}").format(padding=padding, h=out[0], w=out[1])
    return Panel(Group(table, Text(""), *lines, legend), title=title, title_align="left")


def transposed_view(axes) -> Panel:
    """``shapes --transposed``: the transposed convolution's size arithmetic, axis by axis,
    naming which map is the input (small) and which the output (big)."""
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    columns = (N_("axis"), N_("in (small)"), N_("kernel"), N_("stride"), N_("padding"),
               N_("output_padding"), N_("out (big)"))  # fmt: skip
    for column in columns:
        table.add_column(_(column), justify="right" if column != "axis" else "left")
    lines = []
    for a in axes:
        table.add_row(a.axis, str(a.size), str(a.kernel), str(a.stride), str(a.padding),
                      str(a.output_padding), f"[bold]{a.out}[/]")  # fmt: skip
        lines.append(Text(a.formula, style="ct.formula"))
        lines.append(
            Text(
                _(
                    "  every input pixel adds a {k}-wide copy of the kernel, {s} apart; a conv "
                    "with the same options maps {out} back to {back}"
                ).format(k=a.kernel, s=a.stride, out=a.out, back=a.conv_back),
                style="ct.dim",
            )
        )
    title = _("transposed: input {h}×{w} → output {oh}×{ow}").format(
        h=axes[0].size, w=axes[1].size, oh=axes[0].out, ow=axes[1].out
    )
    return Panel(Group(table, Text(""), *lines), title=title, title_align="left")
