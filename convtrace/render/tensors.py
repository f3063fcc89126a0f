"""Tensors as Rich renderables: numbers, one-line summaries, and grids with elided middles.

``tensor_view`` is the entry point: a scalar is one big number, a 1-D tensor one row, a 2-D tensor
a grid with row and column indices, and a 3-D / 4-D tensor one labelled grid per leading index
(``n=0, c=1``). Grids never become walls of numbers: beyond ``max_rows`` × ``max_cols`` (or the
available width) the middle rows and columns are replaced by ``⋮`` and ``⋯``, and a summary line
(shape, dtype, range, mean, std) goes on top. An elided grid of a float tensor also gets a
heat-map thumbnail of its whole slice (see :mod:`.thumbnail`), beside the numbers when the width
allows (about as tall as the grid), else above them. Integer tensors (indices) get none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..i18n import _
from .thumbnail import Thumbnail
from .windows import _window_of, focus_pick, pick, value_region  # noqa: F401 (pick: API)

#: Leading-axis names of slices, by number of dimensions (NCHW and (N, rows, L) layouts).
AXIS_NAMES = {3: ("n",), 4: ("n", "c")}
#: Tensors with more elements than this get the summary line even when nothing is elided.
SUMMARY_ABOVE = 256
#: Columns between a thumbnail and the numbers beside it.
THUMB_GAP = 3
#: Beside a thumbnail, the grid keeps at least this many columns (3, ⋯, 3), else goes below it.
SIDE_MIN_COLS = 7
#: Cells down in a thumbnail: the grid's rows shown plus this many (its header and rule are 2).
THUMB_SLACK = 4
#: Side by side only when the thumbnail gets at least this many cells across.
SIDE_MIN_CELLS = 6


#: The legend line under a grid that shows a number marked ``≈``.
APPROX_LEGEND = "≈n: rounds to n but is not exactly n (--precision shows more digits)"


def format_number(value, precision: int) -> str:
    """A number as a student would write it: ``4``, ``-3``, ``0.1192``, ``1.2e-07``.

    Whole numbers print without a decimal point; others with ``precision`` significant digits in
    general format (no trailing zeros), but never fewer than one decimal below 10⁷ (``14010.5``)
    and never looking whole: a number that rounds to a whole one without being whole is marked
    ``≈`` (4.9999998 → ``≈5``; ``APPROX_LEGEND`` says so under a grid). ``-0`` prints as ``0``.
    """
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    digits = max(precision, 1)
    if 1 <= abs(v) < 1e7:
        digits = max(digits, len(str(int(abs(v)))) + 1)  # 14010.5, not 1.401e+04
    text = f"{v:.{digits}g}"
    if text.lstrip("-").isdigit():  # rounded to a whole number, but not one: say so
        return "≈" + ("0" if text == "-0" else text)
    return text


def tensor_summary(array) -> str:
    """One line in the style of lovely-tensors.

    ``tensor[16,32,32,32] float32 n=524288 x∈[-3.2, 4.1] μ=0.01 σ=1``
    """
    a = np.asarray(array)
    head = f"tensor[{','.join(map(str, a.shape))}] {a.dtype} n={a.size}"
    if a.size == 0:
        return head + " empty"
    x = a.astype(np.float64)
    finite = x[np.isfinite(x)]
    parts = [head]
    if a.size == 1 and finite.size:
        parts.append(f"x={format_number(finite[0], 4)}")
    elif finite.size:
        lo, hi = format_number(finite.min(), 3), format_number(finite.max(), 3)
        parts += [
            f"x∈[{lo}, {hi}]",
            f"μ={format_number(finite.mean(), 3)}",
            f"σ={format_number(finite.std(), 3)}",
        ]
    nans, infs = int(np.isnan(x).sum()), int(np.isinf(x).sum())
    if nans:
        parts.append(f"NaN!{nans}")
    if infs:
        parts.append(f"±Inf!{infs}")
    return " ".join(parts)


def heat_style(value: float, scale: float) -> str:
    """Diverging style for ``value`` in a tensor whose largest magnitude is ``scale``.

    Blue for positive, red for negative, three intensities by |value| / scale; exact zeros dim.
    """
    if not math.isfinite(value):
        return "ct.bad"
    if value == 0 or not scale:
        return "ct.zero"
    level = min(3, max(1, math.ceil(abs(value) / scale * 3)))  # 3·v overflows near max
    return f"ct.{'pos' if value > 0 else 'neg'}.{level}"


def _brief(value: float) -> str:
    return format_number(value, 2)


class Grid:
    """A 2-D matrix as right-aligned numbers under column indices, next to row indices.

    matrix: (R, C). highlight: optional (R, C) booleans, drawn as ``[6]`` in ``ct.highlight``.
    Rows beyond ``max_rows`` and columns beyond ``max_cols`` (or beyond the width available when
    rendered) are elided from the middle. thumbnail: when anything is elided, also show the whole
    matrix as a heat map (float matrices of at least 2 × 2 with a row index; needs ``scale``).
    """

    def __init__(
        self,
        matrix: np.ndarray,
        *,
        precision: int = 4,
        highlight: np.ndarray | None = None,
        max_rows: int = 12,
        max_cols: int = 12,
        label: str = "",
        row_index: bool = True,
        scale: float | None = None,
        thumbnail: bool = False,
        focus: tuple[int, int] | None = None,
    ):
        self.matrix = matrix
        # what an elided grid centres on: the cell asked about, else where the values are
        region = value_region(matrix) if focus is None else ((focus[0],) * 3, (focus[1],) * 3)
        self.region = region or ((0, matrix.shape[0] - 1, None), (0, matrix.shape[1] - 1, None))
        self.highlight = highlight
        self.label = label
        self.row_index = row_index
        self.max_cols = max_cols
        self.scale = scale
        self.rows = self._pick(0, max_rows)
        cols = [j for j in self._pick(1, max_cols) if j is not None]
        self.text = {
            (i, j): format_number(matrix[i, j], precision)
            for i in self.rows
            if i is not None
            for j in cols
        }
        self.cell = max([len(t) for t in self.text.values()] + [len(str(cols[-1]))])
        # a marked cell reads [6]: one more column per cell keeps neighbouring marks apart
        self.mark_gap = int(highlight is not None and bool(np.any(highlight)))
        self.index_width = len(str(matrix.shape[0] - 1)) + 2 if row_index else 0
        drawable = thumbnail and row_index and scale is not None and min(matrix.shape) >= 2
        self.thumb = Thumbnail(matrix, scale, fmt=_brief) if drawable else None
        # About as tall as the numbers beside it (column header, rule and the rows shown), so that
        # the picture costs at most a few lines: a 28 × 28 digit is drawn in 2 × 2 blocks.
        self.thumb_rows = len(self.rows) + THUMB_SLACK

    def _pick(self, axis: int, k: int) -> list[int | None]:
        return focus_pick(self.matrix.shape[axis], k, *self.region[axis])

    def shown_note(self, cols: Sequence[int | None]) -> Text | None:
        """``rows 8–19, cols 6–17 of 28×28`` when a window (not head and tail) is shown."""
        h, w = self.matrix.shape
        rows, across = _window_of(self.rows, h), _window_of(cols, w)
        if rows is None and across is None:
            return None
        r0, r1 = rows or (0, h - 1)
        c0, c1 = across or (0, w - 1)
        return Text(
            _("rows {r0}–{r1}, cols {c0}–{c1} of {h}×{w} shown (where the values are)").format(
                r0=r0, r1=r1, c0=c0, c1=c1, h=h, w=w
            ),
            style="ct.dim",
            no_wrap=True,
            overflow="ellipsis",
        )

    def width(self, max_cols: int) -> int:
        """Columns of text needed when at most ``max_cols`` columns are shown."""
        return max(self._numbers_width(max_cols), len(self.label))

    def _numbers_width(self, max_cols: int) -> int:
        return self.index_width + self._body_width(self._pick(1, max_cols))

    def _body_width(self, cols: Sequence[int | None]) -> int:
        # The elided column is a narrow " ⋯ ", the others fit the widest number plus a margin.
        return sum(3 if j is None else self.cell + 2 + self.mark_gap for j in cols)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = self.width(self.max_cols)
        if self.thumb is not None and (None in self.rows or self.matrix.shape[1] > self.max_cols):
            widest += self.thumb.width(self.thumb_rows, self.thumb.max_cols) + THUMB_GAP
        return Measurement(self.width(3), widest)

    def _fit_cols(self, max_width: int, label: bool = True) -> list[int | None]:
        fits = self.width if label else self._numbers_width
        k = self.max_cols
        while k > 3 and fits(k) > max_width:
            k -= 1
        return self._pick(1, k)

    def _cell(self, text: str, style: str = "", marked: bool = False, narrow=False) -> Text:
        pad = "" if narrow else " " * (self.cell - len(text) + self.mark_gap)
        if marked:
            return Text.assemble(pad, (f"[{text}]", "ct.highlight"))
        if text.startswith("≈"):  # the marker is dim, the number keeps its heat colour
            return Text.assemble(pad + " ", ("≈", "ct.dim"), (text[1:], style), " ")
        return Text.assemble(pad + " ", (text, style), " ")

    def _row(self, i: int | None, cols: Sequence[int | None]) -> Text:
        line = Text(no_wrap=True, overflow="crop")
        if self.row_index:
            mark = "⋮" if i is None else str(i)
            line.append(mark.rjust(self.index_width - 2) + " │", style="ct.axis")
        for j in cols:
            if i is None or j is None:
                line.append_text(self._cell("⋮" if i is None else "⋯", "ct.axis", narrow=j is None))
                continue
            value = float(self.matrix[i, j])
            style = heat_style(value, self.scale) if self.scale is not None else ""
            marked = self.highlight is not None and bool(self.highlight[i, j])
            line.append_text(self._cell(self.text[i, j], style, marked))
        return line

    def _body(self, cols: Sequence[int | None]) -> list[Text]:
        """Column indices, the rule under them, and the rows."""
        header = Text(no_wrap=True, overflow="crop", style="ct.axis")
        rule = "─" * self._body_width(cols)
        if self.row_index:
            header.append(" " * (self.index_width - 2) + " │")
            rule = "─" * (self.index_width - 1) + "┼" + rule
        for j in cols:
            header.append_text(self._cell("⋯" if j is None else str(j), narrow=j is None))
        lines = [header, Text(rule, style="ct.axis", no_wrap=True, overflow="crop")]
        note = self.shown_note(cols)
        lines = ([note] if note is not None else []) + lines
        return lines + [self._row(i, cols) for i in self.rows]

    def _heading(self, caption: Text | None = None) -> Text:
        line = Text(self.label, style="ct.label")
        if caption is not None:
            line.append("   " if self.label else "")
            line.append_text(caption)
        return line

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        cols = self._fit_cols(width)
        if self.thumb is None or (None not in self.rows and None not in cols):
            if self.label:
                yield Text(self.label, style="ct.label", no_wrap=True, overflow="ellipsis")
            yield from self._body(cols)
            return
        # The thumbnail beside the numbers if both fit (at most ~2/5 of the width), else above.
        room = width - THUMB_GAP - self._numbers_width(min(self.max_cols, SIDE_MIN_COLS))
        across = min(self.thumb.max_cols, (width * 2 // 5 - 2) // 2, (room - 2) // 2)
        if across < SIDE_MIN_CELLS:
            size = (self.thumb_rows, max(1, min(self.thumb.max_cols, (width - 2) // 2)))
            yield self._heading(self.thumb.caption(*size))
            yield from self.thumb.lines(*size)
            yield from self._body(cols)
            return
        size = (self.thumb_rows, across)
        left = self.thumb.lines(*size)
        thumb_width = self.thumb.width(*size)
        right = self._body(self._fit_cols(width - thumb_width - THUMB_GAP, label=False))
        yield self._heading(self.thumb.caption(*size))
        for k in range(max(len(left), len(right))):
            line = Text(no_wrap=True, overflow="crop")
            if k < len(left):
                line.append_text(left[k])
            if k < len(right):
                line.pad_right(thumb_width + THUMB_GAP - line.cell_len)
                line.append_text(right[k])
            yield line


class Flow:
    """Renderables side by side, left to right, starting a new row when the width runs out."""

    def __init__(self, items: Sequence[RenderableType], gap: int = 3):
        self.items = list(items)
        self.gap = gap

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        sizes = [Measurement.get(console, options, item) for item in self.items]
        widest = max(s.minimum for s in sizes)
        total = sum(s.maximum for s in sizes) + self.gap * (len(sizes) - 1)
        return Measurement(widest, max(widest, total))

    def rows(self, console: Console, options: ConsoleOptions) -> list[list[RenderableType]]:
        """The items packed greedily into rows that fit ``options.max_width``."""
        rows: list[list[RenderableType]] = []
        used = 0
        for item in self.items:
            width = min(Measurement.get(console, options, item).maximum, options.max_width)
            if rows and used + self.gap + width <= options.max_width:
                rows[-1].append(item)
                used += self.gap + width
            else:
                rows.append([item])
                used = width
        return rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for number, row in enumerate(self.rows(console, options)):
            if number:
                yield Text("")
            if len(row) == 1:
                yield row[0]
                continue
            grid = Table.grid(padding=(0, self.gap, 0, 0))
            grid.add_row(*row)
            yield grid


def slice_label(index: tuple[int, ...], ndim: int, axes: Sequence[str] | None = None) -> str:
    """``f=0, c=1``: the leading axes' names (the stage's own, else NCHW's) and indices."""
    names = tuple(axes[: len(index)]) if axes is not None and len(axes) == ndim else None
    names = names or AXIS_NAMES.get(ndim)
    if names and len(names) == len(index):
        return ", ".join(f"{name}={i}" for name, i in zip(names, index, strict=True))
    return "[" + ", ".join(map(str, index)) + "]"


def heat_scale(a: np.ndarray) -> float | None:
    """Largest finite magnitude for the heat scale (None: integer tensors are not heat-coloured)."""
    if not np.issubdtype(a.dtype, np.floating):
        return None
    finite = np.abs(a[np.isfinite(a)])
    return float(finite.max()) if finite.size else 0.0


def tensor_view(
    array,
    *,
    precision: int = 4,
    highlight=None,
    max_rows: int = 12,
    max_cols: int = 12,
    title_prefix: str = "",
    max_slices: int = 4,
    axes: Sequence[str] | None = None,
) -> RenderableType:
    """A tensor of any rank as a renderable (see the module docstring).

    axes: the tensor's axis names (``("f", "c", "u", "v")`` for a conv weight): slices are
    labelled with them (``f=0, c=1``); without them, 3-D / 4-D slices are labelled as NCHW.
    highlight: booleans of the same shape, cells to emphasise (e.g. the max-pool winners).
    title_prefix: put before each grid's label (``"torch · "`` → ``torch · n=0, c=1``).
    max_slices: 3-D / 4-D tensors show at most this many grids (fewer when the grids themselves
    are elided: one when rows are, two when columns are), then ``… k more slices``. Each elided
    grid shown also gets a heat-map thumbnail of its whole slice; small grids get none.
    """
    a = np.asarray(array)
    if a.dtype == bool:
        a = a.astype(np.int8)
    mask = None if highlight is None else np.asarray(highlight, dtype=bool)
    if mask is not None and mask.shape != a.shape:
        raise ValueError(f"highlight shape {mask.shape} differs from the tensor's {a.shape}")
    if a.ndim == 0:
        label = Text(title_prefix, style="ct.label") if title_prefix else Text()
        return Text.assemble(label, (format_number(a, precision), "ct.big"))
    if a.size == 0:
        return Text(tensor_summary(a), style="ct.dim")
    scale = heat_scale(a)
    options = dict(
        precision=precision, max_rows=max_rows, max_cols=max_cols, scale=scale, thumbnail=True
    )
    if a.ndim <= 2:
        matrix = a.reshape(1, -1) if a.ndim == 1 else a
        sub = None if mask is None else mask.reshape(matrix.shape)
        grids = [Grid(matrix, highlight=sub, label=title_prefix, row_index=a.ndim == 2, **options)]
        hidden = 0
    else:
        leading = list(np.ndindex(*a.shape[:-2]))
        if a.shape[-2] > max_rows:
            max_slices = 1  # one elided grid and the summary say enough; more is a wall
        elif a.shape[-1] > max_cols:
            max_slices = min(max_slices, 2)
        hidden = max(len(leading) - max_slices, 0)
        grids = [
            Grid(
                a[index],
                highlight=None if mask is None else mask[index],
                label=title_prefix + slice_label(index, a.ndim, axes),
                **options,
            )
            for index in leading[: len(leading) - hidden]
        ]
    rows, cols = a.shape[-2] if a.ndim >= 2 else 1, a.shape[-1]
    elided = hidden or rows > max_rows or cols > max_cols or a.size > SUMMARY_ABOVE
    parts: list[RenderableType] = []
    if elided:
        parts.append(Text(tensor_summary(a), style="ct.dim"))
    parts.append(Flow(grids) if len(grids) > 1 else grids[0])
    if hidden:
        parts.append(Text(f"… {hidden} more slice{'s' if hidden > 1 else ''}", style="ct.dim"))
    if any(text.startswith("≈") for grid in grids for text in grid.text.values()):
        parts.append(Text(APPROX_LEGEND, style="ct.dim"))
    return Group(*parts) if len(parts) > 1 else parts[0]
