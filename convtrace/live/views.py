"""What ``convtrace live`` draws, as Rich renderables (no Textual here, so they test on a Console).

The stage header (name, shape, axes, formula, verdict), the slice of the tensor holding the cell
cursor (``render.tensors.Grid``, the same formatting as ``run``; the cursor drawn ``[6]``),
torch's slice and the difference, and the cursor cell's explanation as its sum term by term
(``convtrace.explain``). Every mark is in the text as well as the style, for NO_COLOR. Words
go through ``_()`` as they are drawn; stage names, axis names and the math do not.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..i18n import N_, _, plural
from ..render.explain_parts import more_terms, product, verdicts
from ..render.stages import verdict_text
from ..render.tensors import Flow, Grid, format_number, heat_scale
from ..render.tensors import slice_label as tensor_slice_label
from ..tracing.stage import Stage

#: The cursor's slice is drawn whole up to this many rows / columns, else a window around it.
SLICE_LIMIT = 12
#: Terms listed in the explanation panel before "… and N more".
PANEL_TERMS = 24


def num(value, precision: int = 4) -> str:
    return format_number(value, precision)


# --------------------------------------------------------------------------- cursor geometry
def slice_parts(shape: tuple[int, ...], index: tuple[int, ...]):
    """(leading index, (row, col)) of the 2-D slice holding ``index``: a 1-D tensor is one row,
    a scalar has no cells (None)."""
    if not shape:
        return None
    if len(shape) == 1:
        return (), (0, index[0])
    return tuple(index[:-2]), (index[-2], index[-1])


def slice_matrix(values, lead: tuple[int, ...]) -> np.ndarray:
    """The 2-D slice ``values[lead]`` (a 1-D tensor as one row)."""
    a = np.asarray(values)
    return a.reshape(1, -1) if a.ndim == 1 else a[lead]


def moved(shape, index, d_row: int = 0, d_col: int = 0, d_slice: int = 0) -> tuple[int, ...]:
    """``index`` moved by rows / columns inside its slice (clamped at the edges), or to the
    previous / next slice (``d_slice``, wrapping over the leading axes in row-major order)."""
    if not shape:
        return ()
    index = list(index)
    if len(shape) == 1:
        index[0] = min(max(index[0] + d_col, 0), shape[0] - 1)
        return tuple(index)
    index[-2] = min(max(index[-2] + d_row, 0), shape[-2] - 1)
    index[-1] = min(max(index[-1] + d_col, 0), shape[-1] - 1)
    lead_shape = shape[:-2]
    if d_slice and lead_shape:
        count = int(np.prod(lead_shape))
        flat = int(np.ravel_multi_index(tuple(index[:-2]), lead_shape)) + d_slice
        flat = min(max(flat, 0), count - 1)
        index[:-2] = [int(v) for v in np.unravel_index(flat, lead_shape)]
    return tuple(index)


def slice_label(stage: Stage, lead: tuple[int, ...]) -> str:
    """``n=0, f=1``: the slice's leading indices, labelled as ``run`` labels them."""
    return tensor_slice_label(lead, len(stage.shape), stage.axes) if lead else ""


def _window(size: int, at: int, limit: int) -> range:
    start = min(max(at - limit // 2, 0), max(size - limit, 0))
    return range(start, min(start + limit, size))


# --------------------------------------------------------------------------- grids
def cell_grid(
    matrix,
    precision: int = 4,
    *,
    label: str = "",
    marks=None,
    blank=None,
    dim=None,
    rows: range | None = None,
    cols: range | None = None,
    row_labels=None,
    col_labels=None,
) -> Text:
    """A small grid with its true indices: ``marks`` (booleans) drawn ``[v]`` in ct.highlight,
    ``blank`` cells drawn ``·`` (not computed yet), ``dim`` cells greyed (padding). rows / cols:
    the part shown (all by default); row_labels / col_labels: what the indices read."""
    m = np.asarray(matrix)
    rows = range(m.shape[0]) if rows is None else rows
    cols = range(m.shape[1]) if cols is None else cols
    row_labels = list(range(m.shape[0])) if row_labels is None else row_labels
    col_labels = list(range(m.shape[1])) if col_labels is None else col_labels

    def shown(r, c):
        return "·" if blank is not None and blank[r, c] else num(m[r, c], precision)

    texts = {(r, c): shown(r, c) for r in rows for c in cols}
    width = max([len(t) for t in texts.values()] + [len(str(col_labels[c])) for c in cols]) + 2
    head = max(len(str(row_labels[r])) for r in rows)
    out = Text(no_wrap=True, overflow="crop")
    if label:
        out.append(label + "\n", style="ct.label")
    out.append(" " * head + " │", style="ct.axis")
    for c in cols:
        out.append(str(col_labels[c]).rjust(width - 1) + " ", style="ct.axis")
    out.append("\n" + "─" * (head + 1) + "┼" + "─" * (width * len(cols)), style="ct.axis")
    for r in rows:
        out.append("\n" + str(row_labels[r]).rjust(head) + " │", style="ct.axis")
        for c in cols:
            text = texts[r, c]
            if marks is not None and marks[r, c]:
                out.append(" " * (width - len(text) - 2))
                out.append(f"[{text}]", style="ct.highlight")
            else:
                style = "ct.dim" if (dim is not None and dim[r, c]) or text == "·" else ""
                out.append(text.rjust(width - 1) + " ", style=style)
    return out


def _window_cols(
    m: np.ndarray, rows: range, at: int, width: int, limit: int, precision: int = 4
) -> range:
    """The widest run of columns around ``at`` whose ``cell_grid`` fits ``width``: each count
    is measured with the numbers it would show (zeros are narrow, so more columns fit)."""
    head = len(str(rows.stop - 1)) + 2
    for count in range(min(limit, m.shape[1]), 0, -1):
        cols = _window(m.shape[1], at, count)
        block = np.asarray(m[rows.start : rows.stop, cols.start : cols.stop]).ravel()
        cell = max(*(len(num(v, precision)) for v in block), len(str(cols.stop - 1))) + 2
        if head + cell * count <= width:
            return cols
    return _window(m.shape[1], at, 1)


def cursor_grid(
    values, cell, label: str, precision: int = 4, width: int = 80, limit: int = SLICE_LIMIT
):
    """A 2-D slice with the cursor ``cell`` (row, col) drawn ``[v]``: run's ``Grid`` when the
    whole slice fits ``limit`` and ``width``, else a window around the cursor with true indices
    (so the cursor is never elided)."""
    m = np.asarray(values)
    if m.dtype == bool:
        m = m.astype(np.int8)
    mask = np.zeros(m.shape, bool)
    mask[cell] = True
    if m.shape[0] <= limit and m.shape[1] <= limit:
        grid = Grid(
            m,
            precision=precision,
            highlight=mask,
            label=label,
            max_rows=limit,
            max_cols=limit,
            scale=heat_scale(m),
        )
        if grid.width(limit) <= width:
            return grid
    rows = _window(m.shape[0], cell[0], limit)
    cols = _window_cols(m, rows, cell[1], width, limit, precision)
    parts = [Text(label, style="ct.label")]
    if len(rows) < m.shape[0] or len(cols) < m.shape[1]:
        where = _("(rows {r0}–{r1}, cols {c0}–{c1} of {h}×{w})").format(
            r0=rows.start, r1=rows.stop - 1, c0=cols.start, c1=cols.stop - 1, h=m.shape[0],
            w=m.shape[1],
        )  # fmt: skip
        parts.append(Text(where, style="ct.dim"))
    return Group(*parts, cell_grid(m, precision, marks=mask, rows=rows, cols=cols))


# --------------------------------------------------------------------------- the stage
def stage_header(stage: Stage, trace, position: str = "", compact: bool = False) -> Group:
    """``conv.out  (1, 2, 4, 4)  title``, the axes, the formula (one clause a line), the
    verdict; ``compact``: the title and the verdict only."""
    title = Text.assemble(
        (stage.name, "ct.name"),
        "  ",
        (str(stage.shape) if stage.shape else _("scalar"), "ct.shape"),
        "  ",
        (_(stage.title), "ct.title"),
    )
    if position:
        title.append(f"   {position}", style="ct.dim")
    verdict = verdict_text(stage, trace.tolerance, reference_ran=trace.has_reference)
    if compact:
        return Group(title, verdict)
    axes = ", ".join(stage.axes) if stage.axes else _("none (a scalar)") if not stage.shape else "?"
    parts: list[RenderableType] = [title, Text(_("axes: {axes}").format(axes=axes), "ct.dim")]
    parts += [Text(p.strip(), "ct.formula") for p in _(stage.formula).split(";  ") if p.strip()]
    parts.append(verdict)
    return Group(*parts)


def stage_grids(
    stage: Stage, index, precision: int = 4, torch: bool = False, width: int = 80
) -> RenderableType:
    """The slice holding the cursor (ours), and with ``torch`` torch's and ours − torch; each
    grid fits ``width`` columns."""
    parts = slice_parts(stage.shape, index)
    ours = _("ours")
    if parts is None:  # a scalar: one big number
        pad = max(len(ours), len("torch")) + 1
        items = [
            Text.assemble((ours.ljust(pad), "ct.label"), (num(stage.values, precision), "ct.big"))
        ]
        if torch and stage.reference is not None:
            items.append(
                Text.assemble(
                    ("torch".ljust(pad), "ct.label"), (num(stage.reference, precision), "ct.big")
                )
            )
        return Group(*items)
    lead, cell = parts
    where = slice_label(stage, lead)
    label = f"{ours} · {where}" if where else ours
    grids: list[RenderableType] = [
        cursor_grid(slice_matrix(stage.values, lead), cell, label, precision, width)
    ]
    if torch:
        ref = stage.reference
        if ref is None or np.shape(ref) != stage.shape:
            grids.append(Text(_("torch has no value for this stage"), style="ct.dim"))
        else:
            theirs = slice_matrix(ref, lead)
            diff = slice_matrix(stage.values, lead).astype(np.float64) - theirs.astype(np.float64)
            grids.append(
                cursor_grid(theirs, cell, f"torch · {where}".strip(" ·"), precision, width)
            )
            grids.append(cursor_grid(diff, cell, _("ours − torch"), precision, width))
    return Flow(grids, gap=3)


def cursor_line(stage: Stage, index, precision: int = 4) -> Text:
    """``cursor conv.out[0,1,2,2] = 4`` (torch's too when it differs in print)."""
    if not stage.shape:
        return Text("")
    value = np.asarray(stage.values)[tuple(index)]
    line = Text(_("cursor") + " ", style="ct.dim")
    line.append(f"{stage.name}[{','.join(map(str, index))}]", style="ct.name")
    line.append(" = ")
    line.append(num(value, precision), style="ct.big")
    if stage.reference is not None and np.shape(stage.reference) == stage.shape:
        theirs = np.asarray(stage.reference)[tuple(index)]
        line.append(f"   torch {num(theirs, precision)}", style="ct.dim")
    return line


# --------------------------------------------------------------------------- explanation
def explanation_panel(trace, stage: Stage, index, precision: int = 4) -> RenderableType:
    """The cursor cell as its sum, term by term (``convtrace explain``), or why there is none."""
    from ..core.errors import ConvtraceError
    from ..explain.cell import explain_cell
    from ..explain.sums import explainable

    if stage.name not in explainable(trace.layers, update="update.loss" in trace):
        return _no_sum(stage, _(_NOT_A_SUM))
    try:
        e = explain_cell(trace, stage.name, tuple(index))
    except ConvtraceError as error:
        return _no_sum(stage, str(error))
    except Exception as error:  # explain must never take the app down
        reason = _("explain could not write this cell ({kind})")
        return _no_sum(stage, reason.format(kind=type(error).__name__))
    return explanation_text(e, precision)


_NOT_A_SUM = N_(
    "explain writes a sum for every layer's output, the loss and the gradients; this stage "
    "is data, a parameter or a rearrangement (im2col's columns, a max pool's choices)."
)


def _no_sum(stage: Stage, reason: str) -> Group:
    return Group(
        Text(_("No sum to show for {stage}.").format(stage=stage.name), style="ct.title"),
        Text(""),
        Text(reason, style="ct.dim"),
        Text(""),
        Text(
            _("{stage} is computed as: {formula}").format(
                stage=stage.name, formula=_(stage.formula)
            ),
            style="ct.formula",
        ),
    )


def explanation_text(e, precision: int = 4) -> Group:
    """The result first (``cell = value``, the sum with its bias, the checks against the trace
    and torch, each naming the cell), then the formula and one term a line (where = factors =
    product); the panel scrolls (PgUp / PgDn) when the terms run past its bottom."""
    title = Text(f"{e.cell} = ", style="ct.title")
    title.append(num(e.value, precision), style="ct.big")
    total = Text("Σ = ")
    total.append(num(e.value - (e.bias or 0.0), precision))
    if e.bias is not None:
        total.append(_(", + bias {bias} = ").format(bias=num(e.bias, precision)))
        total.append(num(e.value, precision), style="ct.big")
    terms = Table.grid(padding=(0, 1))
    terms.add_column(justify="right", style="ct.dim")
    terms.add_column(overflow="fold")
    for k, t in enumerate(e.terms[:PANEL_TERMS]):
        factors = product(t.factors, precision)
        style = "ct.pos" if t.product > 0 else "ct.neg" if t.product < 0 else "ct.zero"
        line = Text(t.where, style="ct.name")
        line.append(f"\n{factors} = ")
        line.append(num(t.product, precision), style=style)
        terms.add_row(f"{k + 1}.", line)
    parts: list[RenderableType] = [title, total, *verdicts(e, precision), Text("")]
    parts.append(Text(_(e.formula), style="ct.formula"))
    count = plural("{n} term", "{n} terms", len(e.terms))
    if "windows" in e.details and "filters" in e.details:
        count += _(" = {windows} windows × {filters} filters").format(
            windows=e.details["windows"], filters=e.details["filters"]
        )
    parts += [Text(count, style="ct.dim"), terms]
    if len(e.terms) > PANEL_TERMS:
        parts.append(Text(more_terms(len(e.terms) - PANEL_TERMS), style="ct.dim"))
    return Group(*parts)
