"""Tensor rendering: number formatting, summaries, grids, elision, highlight, console and NO_COLOR.

Renders to a fixed-width console without colour and compares text.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from rich.cells import cell_len

from convtrace.render.console import DEFAULT_WIDTH, MAX_WIDTH, THEME, make_console
from convtrace.render.tensors import (
    format_number,
    heat_style,
    pick,
    tensor_summary,
    tensor_view,
)


def render(renderable, width: int = 100) -> str:
    console = make_console(width=width, file=io.StringIO(), force_terminal=False, no_color=True)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


# SGR parameters that set a colour: 30–39, 40–49, 90–97, 100–107 (38/48 start 256/rgb colours).
COLOUR_CODE = re.compile(r"\x1b\[([0-9;]*)m")


def colour_codes(ansi: str) -> list[str]:
    found = []
    for params in COLOUR_CODE.findall(ansi):
        for p in filter(None, params.split(";")):
            n = int(p)
            if 30 <= n <= 49 or 90 <= n <= 107:
                found.append(p)
    return found


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4.0, "4"),
        (-3.0, "-3"),
        (25, "25"),
        (np.float32(25.0), "25"),
        (np.int64(7), "7"),
        (-0.0, "0"),
        (np.float32(-0.0), "0"),
        (0.11920292, "0.1192"),
        (1.2e-7, "1.2e-07"),
        (0.5, "0.5"),
        (2.50, "2.5"),
        (-0.25, "-0.25"),
        (123.456, "123.5"),
        (14010.5, "14010.5"),  # no 1.401e+04 for mid-size numbers
        (np.float32(4.9999995), "5.0"),  # rounded, but visibly not a whole number
        (2.5e7 + 0.5, "2.5e+07"),
        (True, "1"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
    ],
)
def test_format_number(value, expected):
    assert format_number(value, 4) == expected


def test_format_number_precision_is_significant_digits():
    assert format_number(math.pi, 2) == "3.1"
    assert format_number(math.pi, 6) == "3.14159"
    assert format_number(-1e-20, 4) == "-1e-20"


def test_tensor_summary_small_and_scalar():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert tensor_summary(a) == "tensor[2,3] float32 n=6 x∈[0, 5] μ=2.5 σ=1.71"
    assert tensor_summary(np.float64(0.5)) == "tensor[] float64 n=1 x=0.5"
    assert tensor_summary(np.zeros((0, 3))) == "tensor[0,3] float64 n=0 empty"


def test_tensor_summary_counts_nan_and_inf():
    text = tensor_summary(np.array([1.0, np.nan, np.inf]))
    assert "NaN!1" in text and "±Inf!1" in text


def test_pick_elides_the_middle():
    assert pick(5, 12) == [0, 1, 2, 3, 4]
    assert pick(32, 12) == [0, 1, 2, 3, 4, 5, None, 27, 28, 29, 30, 31]
    assert pick(32, 3) == [0, None, 31]


def test_heat_style_is_diverging_by_sign_and_magnitude():
    assert heat_style(0.0, 9.0) == "ct.zero"
    assert heat_style(9.0, 9.0) == "ct.pos.3"
    assert heat_style(-9.0, 9.0) == "ct.neg.3"
    assert heat_style(1.0, 9.0) == "ct.pos.1"
    assert heat_style(-5.0, 9.0) == "ct.neg.2"
    assert heat_style(float("nan"), 9.0) == "ct.bad"
    for name in ("ct.pos.1", "ct.pos.3", "ct.neg.1", "ct.neg.3", "ct.zero", "ct.highlight"):
        assert name in THEME.styles


def test_2d_grid_exact_layout():
    a = np.array([[1.0, -2.0], [3.0, 0.25]], dtype=np.float32)
    assert lines_of(render(tensor_view(a))) == [
        "  │    0     1",
        "──┼────────────",
        "0 │    1    -2",
        "1 │    3  0.25",
    ]


def test_1d_is_one_row_without_row_index():
    assert lines_of(render(tensor_view(np.array([1.0, 1.0])))) == [
        " 0  1",
        "──────",
        " 1  1",
    ]


def test_scalar_is_a_single_number():
    assert render(tensor_view(np.float32(18.0))).strip() == "18"
    assert render(tensor_view(np.float64(0.11920292), title_prefix="L = ")).strip() == "L = 0.1192"


def test_4d_has_one_labelled_grid_per_slice():
    a = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    text = render(tensor_view(a))
    assert "n=0, c=0" in text and "n=0, c=1" in text
    assert "tensor[" not in text  # small: no summary line


def test_3d_slices_are_labelled_by_n():
    text = render(tensor_view(np.zeros((2, 3, 4))))
    assert "n=0" in text and "n=1" in text


def test_big_tensor_is_elided_with_summary():
    a = np.random.default_rng(0).standard_normal((16, 32, 32, 32)).astype(np.float32)
    text = render(tensor_view(a))
    lines = lines_of(text)
    assert lines[0] == tensor_summary(a)
    assert "⋯" in text and "⋮" in text
    assert "… 511 more slices" in text
    assert len(lines) <= 20
    assert max(cell_len(line) for line in lines) <= 100


def test_many_small_slices_are_capped():
    text = render(tensor_view(np.ones((2, 5, 3, 3))))
    assert "… 6 more slices" in text
    assert "n=0, c=3" in text and "n=0, c=4" not in text


def test_grid_elides_more_columns_when_narrow():
    a = np.arange(90, dtype=np.float64).reshape(3, 30) / 7
    for width in (40, 60, 100):
        lines = lines_of(render(tensor_view(a), width=width))
        assert max(cell_len(line) for line in lines) <= width
        assert any("⋯" in line for line in lines)


def test_highlight_brackets_cells_and_keeps_alignment():
    a = np.array([[5.0, -10.0], [6.0, -1.0]])
    lines = lines_of(render(tensor_view(a, highlight=a > 5)))
    assert lines[2] == "0 │   5  -10"
    assert lines[3] == "1 │  [6]  -1"


def test_highlight_shape_must_match():
    with pytest.raises(ValueError, match="highlight shape"):
        tensor_view(np.zeros((2, 2)), highlight=np.zeros((3, 3), bool))


def test_make_console_width(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    assert make_console(file=io.StringIO()).width == DEFAULT_WIDTH
    monkeypatch.setenv("COLUMNS", "77")
    assert make_console(file=io.StringIO()).width == 77
    monkeypatch.setenv("COLUMNS", "300")
    assert make_console(file=io.StringIO()).width == MAX_WIDTH
    assert make_console(width=60, file=io.StringIO()).width == 60


def test_no_color_keeps_the_highlight(monkeypatch):
    a = np.array([[5.0, -10.0], [6.0, -1.0]], dtype=np.float32)

    def ansi() -> str:
        out = io.StringIO()
        console = make_console(width=100, file=out, force_terminal=True)
        console.print(tensor_view(a, highlight=a > 5))
        return out.getvalue()

    monkeypatch.setenv("TERM", "xterm-256color")  # "dumb" would switch colour off by itself
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert colour_codes(ansi())  # the control: normally the values are coloured
    monkeypatch.setenv("NO_COLOR", "1")
    plain = ansi()
    assert colour_codes(plain) == []
    assert "\x1b[1;7m[6]" in plain  # bold reverse survives NO_COLOR
    assert "[6]" in re.sub(r"\x1b\[[0-9;]*m", "", plain)
