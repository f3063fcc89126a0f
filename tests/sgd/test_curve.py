"""The loss curve drawn with characters: one mark a step, placed by value, log axis when the
losses span decades."""

import numpy as np

from convtrace.render.curve import curve_lines


def _marks(lines):
    """(row, column) of every ● in the plot rows."""
    plot = [line.partition("┤")[2] for line in lines if "┤" in line]
    return [(r, c) for r, row in enumerate(plot) for c, ch in enumerate(row) if ch == "●"]


def test_one_mark_a_step_lower_for_lower_losses():
    losses = [9.0, 7.0, 5.0, 5.0, 1.0]
    marks = _marks(curve_lines(losses, height=9))
    assert [c for _, c in marks] == sorted(c for _, c in marks) and len(marks) == 5
    rows = [r for r, _ in sorted(marks, key=lambda m: m[1])]
    assert rows == sorted(rows) and rows[2] == rows[3] and rows[0] == 0 and rows[-1] == 8
    assert "linear scale" in curve_lines(losses)[0]


def test_log_axis_when_the_losses_span_decades():
    losses = list(10.0 ** -np.arange(6))  # 1 … 1e-5: evenly spaced on a log axis
    lines = curve_lines(losses, height=6)
    assert "log scale" in lines[0]
    rows = [r for r, _ in sorted(_marks(lines), key=lambda m: m[1])]
    assert rows == [0, 1, 2, 3, 4, 5]


def test_long_runs_are_sampled_to_the_width():
    marks = _marks(curve_lines(np.linspace(5, 1, 500), width=40))
    assert len(marks) == 40
