"""The loss curve of a training run, drawn with characters: a Rich renderable.

One column per step (steps are sampled when there are more than the width), one row per band
of loss values; the y axis is logarithmic when the losses span more than two decades (a
falling loss usually does), linear otherwise. ``curve_lines`` is plain text, so the same curve
goes into a Markdown or text handout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

from ..i18n import _

#: a log axis when max/min of the losses is more than this
LOG_SPAN = 100.0


def _scale(values: Sequence[float]):
    """(to_unit(v) in [0, 1], from_unit(u) -> value, is_log) for the finite values."""
    finite = [v for v in values if math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    use_log = lo > 0 and hi / lo > LOG_SPAN
    if use_log:
        a, b = math.log10(lo), math.log10(hi)
        return (lambda v: (math.log10(v) - a) / (b - a)), (lambda u: 10 ** (a + u * (b - a))), True
    span = hi - lo or 1.0
    return (lambda v: (v - lo) / span), (lambda u: lo + u * span), False


def _columns(count: int, width: int) -> list[int]:
    """The step shown in each column: every step when they fit, else evenly sampled (first and
    last always)."""
    if count <= width:
        return list(range(count))
    return sorted({round(i * (count - 1) / (width - 1)) for i in range(width)})


def curve_lines(losses: Sequence[float], *, width: int = 60, height: int = 10) -> list[str]:
    """The curve as lines of text: a y label, ``┤``, then the plot; an x axis below."""
    losses = [float(v) for v in losses]
    if not losses:
        return [_("(no steps)")]
    to_unit, from_unit, is_log = _scale(losses)
    steps = _columns(len(losses), width)
    rows = [[" "] * len(steps) for _row in range(height)]
    previous = None
    for col, step in enumerate(steps):
        value = losses[step]
        if not math.isfinite(value):
            continue
        row = height - 1 - round(to_unit(value) * (height - 1))
        if previous is not None and abs(row - previous) > 1:  # join a steep fall
            for r in range(min(row, previous) + 1, max(row, previous)):
                rows[r][col] = "│"
        rows[row][col] = "●"
        previous = row
    labels = [f"{from_unit((height - 1 - r) / (height - 1)):.3g}" for r in range(height)]
    pad = max(len(label) for label in labels)
    lines = [f"{labels[r]:>{pad}} ┤{''.join(rows[r])}" for r in range(height)]
    axis = " " * pad + " └" + "─" * len(steps)
    first, last = "0", str(len(losses) - 1)
    ticks = " " * (pad + 2) + first + " " * max(1, len(steps) - len(first) - len(last)) + last
    scale = _("loss, log scale") if is_log else _("loss, linear scale")
    return [" " * (pad + 2) + scale, *lines, axis, ticks + "  " + _("step")]


class LossCurve:
    """A Rich renderable of ``losses`` (one per step), fitted to the console's width."""

    def __init__(self, losses: Sequence[float], *, height: int = 10, title: str | None = None):
        self.losses, self.height, self.title = list(losses), height, title

    def __rich_console__(self, console, options):
        width = max(10, min(80, options.max_width - 12))
        if self.title:
            yield Text(self.title, "ct.heading")
        for line in curve_lines(self.losses, width=width, height=self.height):
            label, bar, plot = line.partition("┤")
            if bar:
                text = Text(label + bar, "ct.axis")
                text.append(plot, "ct.pos")
            else:
                text = Text(line, "ct.axis")
            yield text

    def __rich_measure__(self, console, options):
        from rich.measure import Measurement

        return Measurement(20, options.max_width)
