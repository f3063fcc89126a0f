"""A trace as Markdown (``--export lesson.md``): renders on GitHub and in Jupyter.

Each stage is a heading with its shape and title, its formula, a table per 2-D slice (labelled
with the axis names, ``f=1, c=0``) where a cell shows torch's value beside ours when the two
print differently, and the verdict. Big tensors are cut to ``ROWS``×``COLS`` with a note.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..i18n import _
from .closing import agreement_line, disagreement_line
from .stages import verdict_text
from .tensors import format_number, slice_label

ROWS, COLS, SLICES = 12, 12, 8


def _cell(ours, theirs, precision: int) -> str:
    text = format_number(ours, precision)
    if theirs is None:
        return text
    other = format_number(theirs, precision)
    return text if other == text else f"{text} (torch {other})"


def _table(ours: np.ndarray, theirs, precision: int) -> list[str]:
    """One 2-D slice as a Markdown table (row and column indices as headers)."""
    rows, cols = ours.shape
    shown_cols = range(min(cols, COLS))
    lines = ["|   | " + " | ".join(str(j) for j in shown_cols) + " |"]
    lines.append("|---|" + "---:|" * len(shown_cols))
    for i in range(min(rows, ROWS)):
        cells = [
            _cell(ours[i, j], None if theirs is None else theirs[i, j], precision)
            for j in shown_cols
        ]
        lines.append(f"| **{i}** | " + " | ".join(cells) + " |")
    cut = []
    if rows > ROWS:
        cut.append(f"{rows - ROWS} more rows")
    if cols > COLS:
        cut.append(f"{cols - COLS} more columns")
    if cut:
        lines.append(f"\n*… {' and '.join(cut)} not shown*")
    return lines


def _values(stage, precision: int) -> list[str]:
    ours = np.asarray(stage.values)
    theirs = stage.reference
    if theirs is not None and np.shape(theirs) != ours.shape:
        theirs = None
    theirs = None if theirs is None else np.asarray(theirs)
    if ours.ndim == 0:
        return [f"**{_cell(ours, theirs, precision)}**"]
    if ours.ndim == 1:
        ours, theirs = ours[None, :], None if theirs is None else theirs[None, :]
        return _table(ours, theirs, precision)
    lead = ours.shape[:-2]
    out = []
    for count, index in enumerate(itertools.product(*(range(n) for n in lead))):
        if count == SLICES:
            out.append(f"*… {int(np.prod(lead)) - SLICES} more slices not shown*")
            break
        if index:
            out.append(f"\n*{slice_label(index, ours.ndim, stage.axes)}*\n")
        out += _table(ours[index], None if theirs is None else theirs[index], precision)
    return out


def trace_markdown(trace, stages, precision: int = 4, heading: str = "") -> str:
    """The stages of ``trace`` as one Markdown document."""
    rtol = trace.tolerance
    lines = ["# convtrace", ""]
    if heading:
        lines += [line.strip() for line in heading.splitlines()] + [""]
    for stage in stages:
        shape = "×".join(map(str, stage.shape)) or _("scalar")
        lines += [f"## `{stage.name}` · {_(stage.title)} · {shape}", ""]
        if stage.formula:
            lines += [f"`{_(stage.formula)}`", ""]
        lines += _values(stage, precision) + [""]
        verdict = verdict_text(stage, rtol, reference_ran=trace.has_reference).plain
        lines += [f"**{verdict}**", ""]
    if trace.has_reference or any(s.alternatives for s in stages):
        lines.append(f"**{agreement_line(stages, rtol).plain}**")
    else:
        lines.append(f"*{_('torch comparison skipped (--no-compare-torch)')}*")
    failing = [s.name for s in stages if s.agrees(rtol) is False]
    if failing:
        lines += ["", f"**{disagreement_line(failing)}**"]
    return "\n".join(lines) + "\n"
