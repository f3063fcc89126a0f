"""A trace as Markdown (``--export lesson.md``): renders on GitHub and in Jupyter.

The terminal's view as a document: the scenario heading, a Forward and a Backward section, and
per stage a heading with its shape written as the terminal writes it (``(2,)``, ``(1, 2, 4,
4)``), its formula, a table per 2-D slice (labelled with the axis names, ``f=1, c=0``; a 1-D
tensor is one row of values under its indices) where a cell shows torch's value beside ours when
the two print differently and a max pool's chosen cells read ``[6]`` as on the terminal, and the
verdict; then the closing table. Tensors are shown whole up to ``ROWS``×``COLS`` (a 28×28 digit
fits), beyond that cut with a note.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..i18n import N_, _
from .closing import agreement_line, disagreement_line
from .marks import highlights
from .stages import format_delta, shape_text, verdict_mark, verdict_text
from .tensors import format_number, slice_label

ROWS, COLS, SLICES = 28, 32, 8


def _cell(ours, theirs, precision: int, marked: bool = False) -> str:
    text = format_number(ours, precision)
    if marked:
        text = f"\\[{text}\\]"  # [6], escaped so that Markdown does not read a link
    if theirs is None:
        return text
    other = format_number(theirs, precision)
    return text if other == text.strip("\\[]") else f"{text} (torch {other})"


def _table(ours: np.ndarray, theirs, precision: int, mask=None, row_index=True) -> list[str]:
    """One 2-D slice as a Markdown table (row and column indices as headers); without
    ``row_index`` (a 1-D tensor) one row of values under the indices."""
    rows, cols = ours.shape
    shown_cols = range(min(cols, COLS))
    lead = "|   | " if row_index else "| "
    lines = [lead + " | ".join(str(j) for j in shown_cols) + " |"]
    lines.append(("|---|" if row_index else "|") + "---:|" * len(shown_cols))
    for i in range(min(rows, ROWS)):
        cells = [
            _cell(
                ours[i, j],
                None if theirs is None else theirs[i, j],
                precision,
                mask is not None and bool(mask[i, j]),
            )
            for j in shown_cols
        ]
        lines.append((f"| **{i}** | " if row_index else "| ") + " | ".join(cells) + " |")
    cut = []
    if rows > ROWS:
        cut.append(f"{rows - ROWS} more rows")
    if cols > COLS:
        cut.append(f"{cols - COLS} more columns")
    if cut:
        lines.append(f"\n*… {' and '.join(cut)} not shown*")
    return lines


def _values(stage, precision: int, mask=None) -> list[str]:
    ours = np.asarray(stage.values)
    theirs = stage.reference
    if theirs is not None and np.shape(theirs) != ours.shape:
        theirs = None
    theirs = None if theirs is None else np.asarray(theirs)
    if ours.ndim == 0:
        return [f"**{_cell(ours, theirs, precision)}**"]
    if ours.ndim == 1:
        ours, theirs = ours[None, :], None if theirs is None else theirs[None, :]
        mask = None if mask is None else np.asarray(mask)[None, :]
        return _table(ours, theirs, precision, mask, row_index=False)
    lead = ours.shape[:-2]
    out = []
    for count, index in enumerate(itertools.product(*(range(n) for n in lead))):
        if count == SLICES:
            out.append(f"*… {int(np.prod(lead)) - SLICES} more slices not shown*")
            break
        if index:
            out.append(f"\n*{slice_label(index, ours.ndim, stage.axes)}*\n")
        out += _table(
            ours[index],
            None if theirs is None else theirs[index],
            precision,
            None if mask is None else mask[index],
        )
    return out


def _closing_table(stages, rtol: float) -> list[str]:
    """The terminal's closing table: stage, shape, max |Δ| and the mark."""
    lines = [f"| {_('stage')} | {_('shape')} | max \\|Δ\\| |   |", "|---|---|---:|:---:|"]
    for stage in stages:
        diff = stage.max_abs_diff
        delta = "—" if diff is None else format_delta(diff)
        mark = verdict_mark(stage, rtol)
        mark = mark.plain if hasattr(mark, "plain") else str(mark)
        lines.append(f"| `{stage.name}` | {shape_text(stage.shape)} | {delta} | {mark} |")
    return lines


def trace_markdown(trace, stages, precision: int = 4, heading: str = "") -> str:
    """The stages of ``trace`` as one Markdown document."""
    rtol = trace.tolerance
    marks = highlights(trace)
    lines = ["# convtrace", ""]
    if heading:
        lines += [line.strip() for line in heading.splitlines()] + [""]
    section = None
    for stage in stages:
        title = N_("Backward") if stage.is_gradient else N_("Forward")
        if title != section:
            lines += [f"## {_(title)}", ""]
            section = title
        lines += [f"### `{stage.name}` · {shape_text(stage.shape)} · {_(stage.title)}", ""]
        if stage.formula:
            lines += [f"`{_(stage.formula)}`", ""]
        mark = marks.get(stage.name)
        lines += _values(stage, precision, None if mark is None else mark[0]) + [""]
        if mark is not None:
            lines += [f"*{_(mark[2])}*", ""]
        verdict = verdict_text(stage, rtol, reference_ran=trace.has_reference).plain
        lines += [f"**{verdict}**", ""]
    if trace.has_reference or any(s.alternatives for s in stages):
        lines += _closing_table(stages, rtol) + [""]
        lines.append(f"**{agreement_line(stages, rtol).plain}**")
    else:
        lines.append(f"*{_('torch comparison skipped (--no-compare-torch)')}*")
    failing = [s.name for s in stages if s.agrees(rtol) is False]
    if failing:
        lines += ["", f"**{disagreement_line(failing)}**"]
    return "\n".join(lines) + "\n"
