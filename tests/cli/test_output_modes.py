"""Output modes of run/forward/backward: --side-by-side, --color, --theme (and its contrast)."""

from __future__ import annotations

import pytest
from rich.color import Color
from rich.style import Style

from convtrace.render.console import HIGH_CONTRAST_THEME, THEME

ESC = "\x1b["


def test_default_shows_one_grid_and_side_by_side_both(invoke):
    one = invoke("forward", "--only", "input")
    both = invoke("forward", "--only", "input", "--side-by-side")
    assert one.exit_code == both.exit_code == 0
    assert "ours = torch" in one.stdout and "ours = torch" not in both.stdout
    assert one.stdout.count("n=0, c=0") == 1 and both.stdout.count("n=0, c=0") == 2


def test_color_always_colours_a_pipe_even_with_no_color(invoke):
    # CliRunner's stdout is not a terminal, and the fixture sets NO_COLOR=1
    assert ESC not in invoke("run", "--only", "loss").stdout
    coloured = invoke("run", "--only", "loss", "--color", "always")
    assert coloured.exit_code == 0 and ESC in coloured.stdout


def test_color_never_beats_force_color(invoke, monkeypatch):
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert ESC in invoke("run", "--only", "loss").stdout  # auto respects FORCE_COLOR
    plain = invoke("run", "--only", "loss", "--color", "never").stdout
    # no colour codes (bold may stay, as with NO_COLOR): no 38;/48; and no 3x/4x colour numbers
    assert "38;" not in plain and "48;" not in plain
    assert not any(f"[{code}m" in plain or f";{code}m" in plain for code in range(30, 48))


def test_choices_are_case_insensitive(invoke):
    result = invoke("backward", "--color", "ALWAYS", "--theme", "High-Contrast")
    assert result.exit_code == 0, result.output
    assert ESC in result.stdout and "\x1b[2m" not in result.stdout  # coloured, nothing dim


@pytest.mark.parametrize(
    ("flag", "value"), [("--color", "sometimes"), ("--theme", "neon"), ("--color", "")]
)
def test_a_bad_choice_is_one_error_line_and_exit_2(invoke, flag, value):
    result = invoke("run", flag, value)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {flag} ")
    assert "Traceback" not in result.output


def test_neither_theme_prints_dim_text(invoke):
    """Dim's contrast depends on the terminal (on a projector it vanishes): grey stands in."""
    default = invoke("run", "--color", "always").stdout
    high = invoke("run", "--color", "always", "--theme", "high-contrast").stdout
    for output in (default, high):
        assert not dim_codes(output)
    assert dim_codes("\x1b[1;2;31mx\x1b[0m") and not dim_codes("\x1b[38;2;2;2;2mx")


def dim_codes(output: str) -> list[str]:
    """The SGR sequences that turn on dim (parameter 2), reading past the arguments of 38/48
    (``38;2;r;g;b`` is a truecolor foreground, not dim: a plain ';2;' search took it for one)."""
    import re

    found = []
    for body in re.findall(r"\x1b\[([0-9;]*)m", output):
        params = [int(p) if p else 0 for p in body.split(";")]
        i = 0
        while i < len(params):
            if params[i] in (38, 48, 58) and i + 1 < len(params):
                i += 5 if params[i + 1] == 2 else 3
                continue
            if params[i] == 2:
                found.append(body)
            i += 1
    return found


# --- the high-contrast theme's colours ----------------------------------------------------------


def luminance(color: Color) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = color.get_truecolor()
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: Color, b: Color) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


BLACK, WHITE = Color.parse("#000000"), Color.parse("#ffffff")


def test_contrast_formula_matches_wcag_examples():
    assert contrast(BLACK, WHITE) == pytest.approx(21.0)
    assert contrast(Color.parse("#777777"), WHITE) == pytest.approx(4.48, abs=0.01)


#: Styles convtrace's views use: its own, and Rich's for tables and rules (Rich's other
#: defaults, e.g. for tracebacks and reprs, never show in its output: highlighting is off).
USED = sorted(n for n in HIGH_CONTRAST_THEME.styles if n.startswith(("ct.", "table.", "rule.")))


@pytest.mark.parametrize("name", USED)
def test_every_high_contrast_style_reaches_7_to_1_on_black_and_white(name):
    style: Style = HIGH_CONTRAST_THEME.styles[name]
    assert not style.dim
    if style.bgcolor is not None:
        # text in its own box: the foreground against that box, and the box is dark enough
        # to stand out on a white terminal (on black it holds white text, which stands out)
        assert style.color is not None
        assert contrast(style.color, style.bgcolor) >= 7
        assert contrast(style.bgcolor, WHITE) >= 7
    elif style.color is not None:
        assert contrast(style.color, BLACK) >= 7 and contrast(style.color, WHITE) >= 7


def test_high_contrast_digits_are_bold_and_it_covers_every_style():
    assert set(HIGH_CONTRAST_THEME.styles) >= {k for k in THEME.styles if k.startswith("ct.")}
    for name in ("ct.pos.1", "ct.pos.2", "ct.pos.3", "ct.neg.1", "ct.neg.2", "ct.neg.3"):
        assert HIGH_CONTRAST_THEME.styles[name].bold, name
    assert HIGH_CONTRAST_THEME.styles["ct.zero"].bold and HIGH_CONTRAST_THEME.styles["ct.big"].bold


def test_step_without_a_terminal_prints_everything_as_without_it(invoke):
    stepped = invoke("run", "--step", input="")
    plain = invoke("run")
    assert stepped.exit_code == 0, stepped.output
    assert stepped.stdout == plain.stdout
    assert "Enter/→/space next" not in stepped.stdout


@pytest.mark.parametrize(
    "args",
    [("shapes", "--size", "7"), ("explain", "conv.out[0,1,2,2]", "--no-compare-torch")],
)
def test_explain_and_shapes_take_color_and_theme(invoke, args):
    plain = invoke(*args)
    coloured = invoke(*args, "--color", "Always", "--theme", "high-contrast")
    assert plain.exit_code == coloured.exit_code == 0, coloured.output
    assert ESC not in plain.stdout and ESC in coloured.stdout
    assert "\x1b[2m" not in coloured.stdout
    bad = invoke(*args, "--theme", "neon")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("Error: --theme must be one of default, high-contrast; got 'neon'")


# --- the default theme's colours ----------------------------------------------------------------
DEFAULT_USED = sorted(n for n in THEME.styles if n.startswith(("ct.", "table.", "rule.")))


@pytest.mark.parametrize("name", DEFAULT_USED)
def test_every_default_style_reaches_4_5_to_1_on_black_and_white(name):
    style: Style = THEME.styles[name]
    assert not style.dim, name  # its contrast is the terminal's guess
    for color in (style.color, style.bgcolor):
        # a standard colour ("green") is whatever the terminal's palette makes it: untestable
        assert color is None or not color.is_system_defined, (name, color)
    if style.color is not None:
        assert contrast(style.color, BLACK) >= 4.5, name
        assert contrast(style.color, WHITE) >= 4.5, name
    if style.bgcolor is not None:
        assert contrast(style.color or BLACK, style.bgcolor) >= 4.5, name


def test_the_heat_scale_is_told_apart_by_more_than_lightness():
    """With every colour at about the same lightness, the levels differ by weight and reverse."""
    for sign in ("pos", "neg"):
        levels = [THEME.styles[f"ct.{sign}.{k}"] for k in (1, 2, 3)]
        assert len({(s.bold, s.reverse) for s in levels}) == 3
    assert THEME.styles["ct.pos"].color != THEME.styles["ct.neg"].color


def test_the_contrast_check_fails_the_old_blue():
    """#005fd7, the blue of earlier versions, is too dark on black: the test above would fail."""
    assert contrast(Color.parse("#005fd7"), BLACK) < 4.5
