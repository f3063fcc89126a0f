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
from tests.render_text import render


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
        (np.float32(4.9999995), "≈5"),  # rounded, but visibly not a whole number
        (-0.99999, "≈-1"),
        (-1e-9, "-1e-09"),
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
    assert lines[2] == "0 │    5   -10"
    assert lines[3] == "1 │   [6]   -1"


def test_near_whole_numbers_are_marked_and_explained_once():
    """float64's 25·σ(18) = 24.9999996 prints ≈25 beside torch's, never 25.0 beside 25."""
    a = np.array([[25.0, 24.9999996], [1.0, 0.5]])
    text = render(tensor_view(a))
    lines = lines_of(text)
    assert lines[2] == "0 │  25  ≈25"
    assert text.count("≈n: rounds to n but is not exactly n") == 1
    assert "≈" not in render(tensor_view(np.array([[25.0, 1.0]])))


def test_neighbouring_marks_do_not_touch():
    a = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    lines = lines_of(render(tensor_view(a, highlight=a > 0)))
    assert lines[2] == "0 │ [1] [1]  0"
    assert "][" not in "".join(lines)


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


# Heat-map thumbnails of elided grids (convtrace/render/thumbnail.py; unit tests there).


def thumbnail_rows(text: str) -> list[str]:
    """The cells (two characters each) of the first framed thumbnail in ``text``, one per row."""
    lines = text.splitlines()
    top = next(k for k, line in enumerate(lines) if line.lstrip().startswith("┌"))
    left = lines[top].index("┌")
    right = lines[top].index("┐")
    rows = []
    for line in lines[top + 1 :]:
        if line[left] == "└":
            return rows
        assert line[left] == "│" and line[right] == "│"
        rows.append(line[left + 1 : right])
    raise AssertionError("thumbnail frame not closed")


def test_thumbnail_shows_a_diagonal_line():
    a = np.zeros((28, 28), dtype=np.float32)
    a[np.arange(28), np.arange(28)] = 1.0
    text = render(tensor_view(a))
    assert "thumbnail: 1 cell = 2×2 values (max |v|)" in text
    rows = thumbnail_rows(text)
    assert len(rows) == 14 and all(len(row) == 28 for row in rows)
    for k, row in enumerate(rows):  # the full glyph moves one cell right per row
        assert row == " " * 2 * k + "██" + " " * 2 * (13 - k)
    assert "⋮" in text and "⋯" in text  # the numbers are still there, elided


def test_thumbnail_is_one_value_per_cell_when_it_fits():
    a = np.zeros((13, 13))
    a[np.arange(13), 12 - np.arange(13)] = -np.linspace(1, 4, 13)  # anti-diagonal, growing |v|
    text = render(tensor_view(a))
    assert "thumbnail: 1 cell = 1 value · |v|: ░≤1  ▒≤2  ▓≤3  █≤4" in text
    rows = thumbnail_rows(text)
    assert len(rows) == 13
    cells = [(row.rstrip().rindex(row.split()[0]) // 2, row.split()[0]) for row in rows]
    assert [column for column, _ in cells] == list(range(12, -1, -1))
    assert [glyphs for _, glyphs in cells][::4] == ["░░", "▒▒", "▓▓", "██"]  # |v| 1, 2, 3, 4


def test_large_slice_thumbnail_is_downsampled_to_fit():
    a = np.random.default_rng(1).standard_normal((200, 200))
    for width in (100, 60, 40):
        text = render(tensor_view(a), width=width)
        rows = thumbnail_rows(text)
        assert 4 <= len(rows) <= 24
        assert max(cell_len(line) for line in lines_of(text)) <= width
        caption = " ".join(text.split())  # the caption wraps when narrow
        match = re.search(r"1 cell = (\d+)×(\d+) values \(max \|v\|\)", caption)
        assert match and int(match[1]) * len(rows) >= 200
        assert int(match[2]) * len(rows[0]) // 2 >= 200
    last = next(line for line in lines_of(render(tensor_view(a))) if "199 │" in line)
    assert last.startswith("│") and format_number(a[199, 0], 4) in last  # side by side


def test_thumbnail_beside_the_grid_when_wide_above_it_when_narrow():
    a = np.arange(28 * 28, dtype=np.float32).reshape(28, 28) / 100
    wide = lines_of(render(tensor_view(a), width=100))
    assert wide[2].startswith("┌") and "│    0" in wide[2]  # frame top next to column indices
    narrow = lines_of(render(tensor_view(a), width=50))
    top = next(k for k, line in enumerate(narrow) if line.startswith("┌"))
    assert set(narrow[top]) == {"┌", "─", "┐"}  # nothing beside it
    assert "│    0" in narrow[top + 16] and max(cell_len(line) for line in narrow) <= 50


def test_no_thumbnail_for_small_grids():
    for a in (
        np.arange(16.0).reshape(4, 4),
        np.ones((12, 12), dtype=np.float32),
        np.ones((1, 2, 5, 5)),
        np.arange(40.0),  # a long 1-D row: elided, but not a picture
        np.arange(600.0).reshape(1, 600),  # a single row
        np.arange(900).reshape(30, 30),  # integers are indices here (pool.argmax), not pictures
    ):
        text = render(tensor_view(a))
        assert "thumbnail" not in text and "┌" not in text and "██" not in text


def test_thumbnails_only_for_the_slices_shown():
    a = np.random.default_rng(2).random((1, 5, 28, 28))
    text = render(tensor_view(a))
    assert text.count("thumbnail") == 1 and "… 4 more slices" in text
    wide = render(tensor_view(np.random.default_rng(3).random((5, 6, 40)), max_cols=12))
    assert wide.count("thumbnail") == 2 and "… 3 more slices" in wide


def test_thumbnail_when_only_the_width_elides():
    a = np.arange(42.0).reshape(3, 14) - 20
    assert "thumbnail" not in render(tensor_view(a, max_cols=16), width=100)
    narrow = render(tensor_view(a, max_cols=16), width=40)
    assert "thumbnail" in narrow and "⋯" in narrow
    assert max(cell_len(line) for line in lines_of(narrow)) <= 40


def test_no_color_thumbnail_keeps_its_glyphs(monkeypatch):
    a = np.zeros((28, 28), dtype=np.float32)
    a[10:18, 4:24] = np.linspace(-4, 4, 20)  # signed: red on the left, blue on the right

    def ansi() -> str:
        out = io.StringIO()
        make_console(width=100, file=out, force_terminal=True).print(tensor_view(a))
        return out.getvalue()

    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = ansi()
    assert colour_codes(coloured) and "██" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    plain = ansi()
    assert colour_codes(plain) == []
    rows = thumbnail_rows(re.sub(r"\x1b\[[0-9;]*m", "", plain))
    picture = "".join(rows)
    for glyphs in ("██", "▓▓", "▒▒", "░░"):  # the magnitude is in the glyphs themselves
        assert glyphs in picture
    assert rows[6][4:8] == "████"  # |v| = 4 at both ends of the band
    assert rows[6][12:14] in ("░░", "▒▒")  # small |v| near the middle


def test_a_large_grid_centres_on_where_the_values_are_and_says_which_rows_and_cols():
    from convtrace.render.tensors import Grid

    a = np.zeros((28, 28))
    a[9:19, 11:21] = 7.0  # a blob with empty borders
    text = render(Grid(a, max_rows=12, max_cols=12), width=100)
    shown = re.search(r"rows (\d+)–(\d+), cols (\d+)–(\d+) of 28×28", text)
    assert shown, text
    r0, r1, c0, c1 = map(int, shown.groups())
    # the window lies inside the blob's rows and columns (not the zero border)
    assert 9 <= r0 <= r1 <= 18 and 11 <= c0 <= c1 <= 20
    numbers = [float(v) for v in re.findall(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])", text)]
    assert a[r0, c0] in numbers and a[r1, c1] in numbers
    # a grid whose values reach the edges keeps head and tail, and says nothing more
    full = render(Grid(np.arange(1, 785.0).reshape(28, 28), max_rows=12, max_cols=12), width=100)
    assert "of 28×28" not in full and "27" in full


def test_centring_survives_values_near_float64s_limit():
    from convtrace.render.tensors import Grid

    a = np.zeros((28, 28))
    a[10:14, 10:14] = 1e307  # their sum overflows: the centre must not
    text = render(Grid(a, max_rows=12, max_cols=12), width=100)
    assert "of 28×28" in text and "1e+307" in text
