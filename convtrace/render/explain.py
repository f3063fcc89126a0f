"""Rich views of ``convtrace explain``: one number, its grids, its terms and its verdicts.

Every view reads an :class:`~convtrace.explain.Explanation` and nothing else. Marked cells carry
their mark in the text too (``[7]`` inside a window, ``*`` for max-pool's chosen cell), so the
views stay readable with ``NO_COLOR``.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text

from .tensors import Flow, format_number

#: Terms listed one per line (or in a sum line) before "… and N more terms".
SHOWN_TERMS = 12
#: Rows / columns of a grid shown in full; larger grids are cropped around the marked cells.
GRID_LIMIT = 12


def _num(value, precision: int) -> str:
    return format_number(value, precision)


def _factor(value, precision: int, first: bool) -> str:
    text = _num(value, precision)
    return f"({text})" if value < 0 and not first else text


def _product(factors, precision: int, first: bool = True) -> str:
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
        (r, c): _num(matrix[r, c], precision)
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
    parts = [_product(t.factors, precision, k == 0) for k, t in enumerate(e.terms[:limit])]
    hidden = len(e.terms) - limit
    if hidden > 0:
        parts.append(f"… ({hidden} more)")
    if e.bias is not None:
        parts.append(f"bias {_factor(e.bias, precision, not parts)}")
    line = Text(" + ".join(parts) if parts else "0 (no terms)")
    line.append(" = ")
    line.append(_num(e.value, precision), style="ct.big")
    return line


def term_lines(e, precision: int, note=None, limit: int = SHOWN_TERMS) -> list[Text]:
    """One term per line: where the factors live, the factors, the product (and a note)."""
    lines = []
    shown = e.terms[:limit]
    width = max((len(t.where) for t in shown), default=0)
    factors = [_product(t.factors, precision) for t in shown]
    products = [_num(t.product, precision) for t in shown]
    f_width = max(map(len, factors), default=0)
    p_width = max(map(len, products), default=0)
    for k, t in enumerate(shown):
        line = Text(f"{k + 1:>4}. ", style="ct.dim")
        line.append(t.where.ljust(width), style="ct.name")
        line.append(f"  {factors[k].ljust(f_width)} = ")
        style = "ct.pos" if t.product > 0 else "ct.neg" if t.product < 0 else "ct.zero"
        line.append(products[k].rjust(p_width), style=style)
        if note:
            line.append(f"   {note(t)}", style="ct.dim")
        lines.append(line)
    if len(e.terms) > limit:
        lines.append(Text(f"      … and {len(e.terms) - limit} more terms", style="ct.dim"))
    return lines


def verdicts(e, precision: int) -> list[Text]:
    """The closing lines: the value against the trace's and against torch's."""
    lines = []
    tolerance = f" (tolerance {e.tolerance:.1e})"
    ok = e.agrees_with_trace
    line = Text("✓ " if ok else "✗ ", style="ct.ok" if ok else "ct.bad")
    line.append(f"{'equals' if ok else 'differs from'} the trace's {e.cell} = ")
    line.append(_num(e.trace_value, precision), style="ct.big")
    if not ok:
        line.append(f"; off by {abs(e.value - e.trace_value):.3g}{tolerance}", style="ct.bad")
    lines.append(line)
    if e.reference is None:
        lines.append(Text("torch comparison skipped (--no-compare-torch)", style="ct.dim"))
    else:
        ok = e.agrees_with_reference
        line = Text("✓ " if ok else "✗ ", style="ct.ok" if ok else "ct.bad")
        line.append("torch: ")
        line.append(_num(e.reference, precision), style="ct.big")
        if not ok:
            line.append(f"; off by {abs(e.value - e.reference):.3g}{tolerance}", style="ct.bad")
        lines.append(line)
    return lines


def _padded_labels(d: dict, size_hw) -> tuple[list[int], list[int]]:
    """Input coordinates of the padded grid's rows and columns (padding gets −1, H, …)."""
    (pt, _), (pl, _) = d["pads"]
    return [r - pt for r in range(size_hw[0])], [c - pl for c in range(size_hw[1])]


def _padding_test(d: dict, shape):
    (pt, pb), (pl, pr) = d["pads"]
    h, w = shape[0] - pt - pb, shape[1] - pl - pr
    return lambda r, c: not (pt <= r < pt + h and pl <= c < pl + w)


def _conv_view(e, p: int) -> list[RenderableType]:
    d = e.details
    n, f, i, j = e.index
    (sh, sw), (dh, dw), (pt, pl) = d["stride"], d["dilation"], (d["pads"][0][0], d["pads"][1][0])
    (top, bottom), (left, right) = d["pads"]
    padding = (
        f"padding top {top} bottom {bottom} left {left} right {right}: the dim zeros"
        if top or bottom or left or right
        else "no padding"
    )
    out = [
        Text(
            f"output position (i={i}, j={j}) reads x at rows {i}·{sh} + u·{dh} − {pt} and "
            f"columns {j}·{sw} + v·{dw} − {pl} for u, v = 0…{e.details['kernel'].shape[1] - 1}"
            f" (stride {sh}×{sw}, dilation {dh}×{dw}, {padding}); [v] marks the window",
            style="ct.dim",
        )
    ]
    padded = d["padded"]
    rows, cols = _padded_labels(d, padded.shape[1:])
    for c in range(padded.shape[0]):
        marks = {tap: "ct.highlight" for tap in d["taps"]}
        items = [
            grid(
                padded[c],
                p,
                label=f"{'x_pad' if top or bottom or left or right else 'x'}[n={n}, c={c}]",
                marks=marks,
                row_labels=rows,
                col_labels=cols,
                dim=_padding_test(d, padded.shape[1:]),
            ),
            grid(d["kernel"][c], p, label=f"W[f={f}, c={c}]"),
            grid(d["products"][c], p, label="products x·W"),
        ]
        out.append(Flow(items))
    out.append(sum_line(e, p, limit=max(SHOWN_TERMS, 32)))
    dot = d["im2col_dot"]
    line = Text(
        f"im2col: column {d['column']} (= {i}·{d['w_out']} + {j}) of X_col[{n}] · row "
        f"{d['row']} of W_row = {_num(dot, p)}, + b[{f}] {_num(e.bias, p)} = "
    )
    line.append(_num(dot + e.bias, p), style="ct.big")
    out.append(line)
    return out


def _pool_view(e, p: int) -> list[RenderableType]:
    d = e.details
    n, c, i, j = e.index
    chosen = d["chosen"]
    marks = {cell: "ct.name" for cell in d["cells"]}
    if chosen is not None:
        marks[d["cells"][chosen]] = "ct.highlight"
    (ph, pw), (sh, sw) = d["pool_size"], d["pool_stride"]
    out = [
        Text(
            f"window (i={i}, j={j}): {ph}×{pw} cells from ({i}·{sh}, {j}·{sw}) of "
            f"{d['source']}[{n},{c}]; [v] marks the window",
            style="ct.dim",
        ),
        grid(d["map"], p, label=f"{d['source']}[n={n}, c={c}]", marks=marks),
    ]
    values = ", ".join(_num(t.factors[0], p) for t in e.terms)
    if chosen is not None:
        r, q = d["cells"][chosen]
        u, v = divmod(chosen, pw)
        line = Text(f"max({values}) = ")
        line.append(_num(e.value, p), style="ct.big")
        ties = sum(1 for t in e.terms if t.factors[0] == e.terms[chosen].factors[0])
        line.append(
            f"; chosen: window index {chosen} (u={u}, v={v}) = {d['source']}[{n},{c},{r},{q}]"
            + (" (a tie: the first maximum wins, as in torch)" if ties > 1 else "")
        )
        out.append(line)
        if "trace_argmax" in d and d["trace_argmax"] != chosen:
            out.append(Text(f"note: the trace's pool.argmax is {d['trace_argmax']}", "ct.bad"))
        out.append(Text("as a sum with the backward's 0/1 mask: ", style="ct.dim") + sum_line(e, p))
    else:
        line = Text(
            f"mean({values}) = ({' + '.join(_num(t.factors[0], p) for t in e.terms)}) / "
            f"{ph * pw} = "
        )
        line.append(_num(e.value, p), style="ct.big")
        out.append(line)
    if "grad" in d:
        g = _num(d["grad"], p)
        if chosen is not None:
            ((pos, _),) = d["grad_goes"]
            text = (
                f"backward: ∂L/∂P[{n},{c},{i},{j}] = {g} goes entirely to "
                f"{d['source']}[{','.join(map(str, pos))}]; the other {ph * pw - 1} window "
                "cells get 0 from this window"
            )
        else:
            share = _num(d["grad_goes"][0][1], p)
            text = (
                f"backward: ∂L/∂P[{n},{c},{i},{j}] = {g} is shared: each of the {ph * pw} "
                f"window cells gets {g}/{ph * pw} = {share}"
            )
        if d["overlapping"]:
            text += " (windows overlap, so a cell adds up the shares of every window holding it)"
        out.append(Text(text))
    return out


def _grad_h_grids(e, p: int, n_samples, marks=None, f=None) -> Flow:
    d = e.details
    gh = d["grad_h"]
    items = [
        grid(gh[n], p, label=f"∂L/∂H[n={n}, f={f}]", marks=marks) for n in range(min(n_samples, 4))
    ]
    return Flow(items)


def _relu_note(e) -> list[Text]:
    if e.details.get("relu"):
        return [
            Text(
                "∂L/∂H is grad.conv.out, already multiplied by the ReLU mask [H > 0]",
                style="ct.dim",
            )
        ]
    return []


def _zero_note(e) -> str:
    zero = e.details.get("zero_grad", 0)
    return f"; ∂L/∂H is 0 in {zero} of them" if zero else ""


def _weight_view(e, p: int) -> list[RenderableType]:
    d = e.details
    f, c, u, v = e.index
    samples = d["grad_h"].shape[0]
    padded = d["padded"][0]
    rows, cols = _padded_labels(d, padded.shape)
    out = _relu_note(e) + [
        Text(
            f"offset (u={u}, v={v}) of filter {f}, channel {c} meets one input element at every "
            f"output position (i, j): x_pad[i·s + {u}·d, j·s + {v}·d]; [v] marks them"
            + (f" (sample 0 shown of {samples})" if samples > 1 else ""),
            style="ct.dim",
        ),
        Flow(
            [
                grid(d["grad_h"][0], p, label=f"∂L/∂H[n=0, f={f}]"),
                grid(
                    padded,
                    p,
                    label=f"x_pad[n=0, c={c}]",
                    marks={t: "ct.highlight" for t in d["taps"]},
                    row_labels=rows,
                    col_labels=cols,
                    dim=_padding_test(d, padded.shape),
                ),
            ]
        ),
        *term_lines(e, p),
    ]
    if d["padding_terms"]:
        out.append(
            Text(f"{d['padding_terms']} terms read padding (x = 0) and count as 0", style="ct.dim")
        )
    line = Text(
        f"sum of the {len(e.terms)} terms (N·H_out·W_out = {samples}·"
        f"{d['grad_h'].shape[1]}·{d['grad_h'].shape[2]}{_zero_note(e)}) = "
    )
    line.append(_num(e.value, p), style="ct.big")
    out.append(line)
    return out


def _bias_view(e, p: int) -> list[RenderableType]:
    (f,) = e.index
    gh = e.details["grad_h"]
    out = _relu_note(e) + [_grad_h_grids(e, p, gh.shape[0], f=f)]
    if gh.shape[0] > 4:
        out.append(Text(f"… {gh.shape[0] - 4} more samples", style="ct.dim"))
    out.append(sum_line(e, p, limit=16))
    out.append(
        Text(
            f"{len(e.terms)} terms = N·H_out·W_out = {gh.shape[0]}·{gh.shape[1]}·"
            f"{gh.shape[2]}{_zero_note(e)}",
            style="ct.dim",
        )
    )
    return out


def _input_view(e, p: int) -> list[RenderableType]:
    d = e.details
    n, c, r, q = e.index
    windows = d["windows"]
    out = _relu_note(e)
    if not windows:
        out.append(
            Text(
                f"no kernel tap lands on x[{n},{c},{r},{q}]: the taps i·s + u·d − p step over "
                "it (stride, dilation) or the last partial stride is floored away; nothing "
                "reads it, so its gradient is 0"
            )
        )
        return out
    where = " ".join(f"({i},{j})" for i, j in d["positions"])
    out.append(
        Text(
            f"x[{n},{c},{r},{q}] lies in "
            + (f"{windows} overlapping windows" if windows > 1 else "1 window")
            + f" (output positions {where}), for each of the {d['filters']} filters: "
            f"{windows}·{d['filters']} = {len(e.terms)} terms. col2im adds them all, which is why "
            "the gradients of overlapping windows accumulate."
        )
    )
    marks = {pos: "ct.highlight" for pos in d["positions"]}
    flipped = {t.meta["flipped"] for t in e.terms}
    for f in range(min(d["filters"], 4)):
        kernel = np.rot90(d["kernels"][f], 2)
        out.append(
            Flow(
                [
                    grid(d["grad_h"][f], p, label=f"∂L/∂H[n={n}, f={f}]", marks=marks),
                    grid(
                        kernel,
                        p,
                        label=f"W[f={f}, c={c}] flipped 180°",
                        marks={tap: "ct.name" for tap in flipped},
                    ),
                ]
            )
        )
    if d["filters"] > 4:
        out.append(Text(f"… {d['filters'] - 4} more filters", style="ct.dim"))
    out += term_lines(e, p, note=lambda t: f"flipped kernel tap {t.meta['flipped']}")
    out.append(
        Text(
            "the same sum is the full convolution of ∂L/∂H (spread out by the stride) with the "
            "kernel flipped 180°: tap (u, v) of W is tap (kh−1−u, kw−1−v) of the flipped kernel",
            style="ct.dim",
        )
    )
    line = Text(f"sum of {len(e.terms)} terms{_zero_note_input(e)} = ")
    line.append(_num(e.value, p), style="ct.big")
    out.append(line)
    return out


def _zero_note_input(e) -> str:
    zero = sum(1 for t in e.terms if t.product == 0)
    return f" ({zero} are 0)" if zero else ""


VIEWS = {
    "conv": _conv_view,
    "pool": _pool_view,
    "weight_grad": _weight_view,
    "bias_grad": _bias_view,
    "input_grad": _input_view,
}


def explanation_view(e, precision: int = 4) -> RenderableType:
    """The whole explanation: title, formula, the kind's grids and terms, then the verdicts."""
    title = Text(f"{e.cell} = ", style="ct.title")
    title.append(_num(e.value, precision), style="ct.big")
    parts = [title, Text(e.formula, style="ct.formula"), Text("")]
    parts += VIEWS[e.kind](e, precision)
    parts += [Text(""), *verdicts(e, precision)]
    return Group(*parts)
