"""Pieces of the ``convtrace explain`` views: small marked grids, sum lines, term lists and
verdicts, each built from an :class:`~convtrace.explain.Explanation`'s numbers.

Marks are in the text as well as in the style (``[7]``), so they survive ``NO_COLOR``.
"""

from __future__ import annotations

from rich.text import Text

from ..i18n import _, plural
from .tensors import format_number

#: Terms listed one per line (or in a sum line) before "… and N more terms".
SHOWN_TERMS = 12
#: Rows / columns of a grid shown in full; larger grids are cropped around the marked cells.
GRID_LIMIT = 12


def num(value, precision: int) -> str:
    return format_number(value, precision)


def _factor(value, precision: int, first: bool) -> str:
    text = num(value, precision)
    return f"({text})" if value < 0 and not first else text


def product(factors, precision: int, first: bool = True) -> str:
    """``7·(-1)``; a negative first factor is bracketed too unless it starts the line."""
    return "·".join(_factor(f, precision, first and k == 0) for k, f in enumerate(factors))


def _crop(size: int, marked: list[int], limit: int = GRID_LIMIT) -> list[int | None]:
    """Indices to show on one axis (None = elided): all when they fit, else the marked span ± 1,
    itself elided in the middle when still longer than ``limit``."""
    if size <= limit:
        return list(range(size))
    lo, hi = (max(min(marked) - 1, 0), min(max(marked) + 1, size - 1)) if marked else (0, size - 1)
    shown: list[int | None] = list(range(lo, hi + 1))
    if len(shown) > limit:
        half = (limit - 1) // 2
        shown = shown[:half] + [None] + shown[-half:]
    return ([None] if lo > 0 else []) + shown + ([None] if hi < size - 1 else [])


def grid(
    matrix,
    precision: int,
    *,
    label: str,
    marks: dict | None = None,
    dim=None,
    row_labels=None,
    col_labels=None,
) -> Text:
    """A small labelled grid as text. marks: {(r, c): style}, drawn as ``[v]`` in that style;
    dim: (r, c) -> bool for cells to grey out (padding). Labels default to 0, 1, …"""
    marks = marks or {}
    rows_n, cols_n = matrix.shape
    row_labels = row_labels or list(range(rows_n))
    col_labels = col_labels or list(range(cols_n))
    rows = _crop(rows_n, [r for r, _ in marks])
    cols = _crop(cols_n, [c for _, c in marks])
    cells = {
        (r, c): num(matrix[r, c], precision)
        for r in rows
        if r is not None
        for c in cols
        if c is not None
    }
    width = max([len(t) for t in cells.values()] + [len(str(x)) for x in col_labels]) + 2
    head = max(len(str(x)) for x in row_labels)
    out = Text(no_wrap=True, overflow="crop")
    out.append(label + "\n", style="ct.label")
    out.append(" " * head + " │", style="ct.axis")
    for c in cols:
        label_text = "⋯" if c is None else str(col_labels[c])
        out.append(label_text.rjust(width - 1) + " ", style="ct.axis")
    out.append("\n" + "─" * (head + 1) + "┼" + "─" * (width * len(cols)), style="ct.axis")
    for r in rows:
        out.append("\n" + ("⋮" if r is None else str(row_labels[r])).rjust(head) + " │", "ct.axis")
        for c in cols:
            if r is None or c is None:
                out.append(("⋮" if r is None else "⋯").rjust(width - 1) + " ", style="ct.axis")
            elif (r, c) in marks:
                out.append(" " * (width - len(cells[r, c]) - 2))
                out.append(f"[{cells[r, c]}]", style=marks[r, c])
            else:
                style = "ct.dim" if dim is not None and dim(r, c) else ""
                out.append(cells[r, c].rjust(width - 1) + " ", style=style)
    return out


def sum_line(e, precision: int, limit: int = SHOWN_TERMS) -> Text:
    """``7·1 + 6·1 + … + bias 1 = 4`` (the first ``limit`` terms, then a count)."""
    parts = [product(t.factors, precision, k == 0) for k, t in enumerate(e.terms[:limit])]
    hidden = len(e.terms) - limit
    if hidden > 0:
        parts.append(more_terms(hidden))
    if e.bias is not None:
        parts.append(_("bias {value}").format(value=_factor(e.bias, precision, not parts)))
    line = Text(" + ".join(parts) if parts else _("0 (no terms)"))
    line.append(" = ")
    line.append(num(e.value, precision), style="ct.big")
    return line


def term_lines(e, precision: int, note=None, limit: int = SHOWN_TERMS) -> list[Text]:
    """One term per line: where the factors live, the factors, the product (and a note)."""
    lines = []
    shown = e.terms[:limit]
    width = max((len(_(t.where)) for t in shown), default=0)
    factors = [product(t.factors, precision) for t in shown]
    products = [num(t.product, precision) for t in shown]
    f_width = max(map(len, factors), default=0)
    p_width = max(map(len, products), default=0)
    for k, t in enumerate(shown):
        line = Text(f"{k + 1:>4}. ", style="ct.dim")
        line.append(_(t.where).ljust(width), style="ct.name")
        line.append(f"  {factors[k].ljust(f_width)} = ")
        style = "ct.pos" if t.product > 0 else "ct.neg" if t.product < 0 else "ct.zero"
        line.append(products[k].rjust(p_width), style=style)
        if note:
            line.append(f"   {note(t)}", style="ct.dim")
        lines.append(line)
    if len(e.terms) > limit:
        lines.append(Text("      " + more_terms(len(e.terms) - limit), style="ct.dim"))
    return lines


def more_terms(count: int) -> str:
    """``… and 24 more terms`` (``… and 1 more term``), as the README promises."""
    return plural("… and {n} more term", "… and {n} more terms", count)


def verdicts(e, precision: int) -> list[Text]:
    """The closing lines: the value against the trace's and against torch's."""
    lines = []
    tolerance = _(" (tolerance {tolerance:.1e})").format(tolerance=e.tolerance)
    ok = e.agrees_with_trace
    line = Text("✓ " if ok else "✗ ", style="ct.ok" if ok else "ct.bad")
    claim = _("equals the trace's {cell} = ") if ok else _("differs from the trace's {cell} = ")
    line.append(claim.format(cell=e.cell))
    line.append(num(e.trace_value, precision), style="ct.big")
    if not ok:
        off = _("; off by {off:.3g}").format(off=abs(e.value - e.trace_value))
        line.append(off + tolerance, style="ct.bad")
    lines.append(line)
    if e.reference is None:
        lines.append(Text(_("torch comparison skipped (--no-compare-torch)"), style="ct.dim"))
    else:
        ok = e.agrees_with_reference
        line = Text("✓ " if ok else "✗ ", style="ct.ok" if ok else "ct.bad")
        line.append("torch: ")
        line.append(num(e.reference, precision), style="ct.big")
        if not ok:
            off = _("; off by {off:.3g}").format(off=abs(e.value - e.reference))
            line.append(off + tolerance, style="ct.bad")
        lines.append(line)
    return lines


def symbol(e, key: str, default: str) -> str:
    """The layer's own letter (``P1``, ``W2``); the classroom letters when there is none."""
    return e.details.get("symbols", {}).get(key, default)
