"""Projector mode: one grid where ours and torch print identically, the difference grid where
they disagree, and the ``--step`` loop (clear, fit to height, keys, footer) driven by fed keys."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from rich.cells import cell_len

from convtrace.render.console import make_console
from convtrace.render.stages import stage_panel
from convtrace.render.stepper import (
    FIT_LADDER,
    fit_to_height,
    rendered_height,
    stage_makers,
    step_through,
)
from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing.pipeline import run_pipeline
from convtrace.tracing.reference import attach_reference
from convtrace.tracing.stage import Stage
from tests.render_text import render

RTOL = 1e-5


@pytest.fixture(scope="module")
def trace():
    return attach_reference(run_pipeline(build_scenario(ScenarioSpec())))


def wrong_stage() -> Stage:
    values = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4) - 10
    reference = values.copy()
    reference[0, 1, 2, 2] += 0.31
    return Stage("conv.out", "Convolution output H", values, "H = conv(x)", reference)


# --- one grid when identical --------------------------------------------------------------------


def test_identical_stage_shows_one_grid_labelled_ours_equals_torch(trace):
    text = render(stage_panel(trace["input"], rtol=RTOL))
    assert "ours = torch" in text
    assert text.count("n=0, c=0") == 1  # the grid once, not twice
    assert "✓ matches torch" in text


def test_side_by_side_keeps_both_grids(trace):
    text = render(stage_panel(trace["input"], rtol=RTOL, side_by_side=True))
    assert "ours = torch" not in text
    assert text.count("n=0, c=0") == 2


def test_agreeing_but_differently_printed_values_keep_both_grids():
    values = np.array([0.1234567, 2.0], dtype=np.float64)
    reference = values + np.array([1e-7, 0.0])  # within rtol, but shows at precision 8
    stage = Stage("fc.out", "Logits", values, "z = Wx + b", reference)
    assert "ours = torch" in render(stage_panel(stage, rtol=RTOL, precision=4))
    assert "ours = torch" not in render(stage_panel(stage, rtol=RTOL, precision=8))


def test_large_stages_need_exact_equality_for_one_grid():
    from convtrace.render.stages import IDENTICAL_TEXT_LIMIT, values_identical

    values = np.full((1, IDENTICAL_TEXT_LIMIT + 1), 0.1234567)  # far from a rounding boundary
    close = Stage("fc.out", "Logits", values, "z = Wx + b", values * (1 + 1e-12))
    exact = Stage("fc.out", "Logits", values, "z = Wx + b", values.copy())
    assert not values_identical(close, 4, None, None)
    assert values_identical(exact, 4, None, None)
    part = values[:, :10]
    small = Stage("fc.out", "Logits", part, "z", part * (1 + 1e-12))
    assert values_identical(small, 4, None, None)


def test_disagreeing_stage_shows_both_and_the_difference():
    text = render(stage_panel(wrong_stage(), rtol=RTOL))
    assert "ours = torch" not in text
    assert "torch" in text and "ours − torch" in text
    # The difference grid holds ours − torch at the one wrong cell: −0.31, zeros elsewhere.
    assert "-0.31" in text


# --- the step loop, driven by fed keys at 100×30 ------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CLEAR = "\x1b[2J"


def step_screens(trace, keys, *, width=100, height=30, side_by_side=False):
    """Run the step loop over every stage of ``trace`` with ``keys``; return (finished, the
    text of each screen shown, in order, without escape codes)."""
    console = make_console(
        width=width, file=io.StringIO(), force_terminal=True, no_color=True, color="never"
    )
    makers = stage_makers(trace, trace.stages, width=width, side_by_side=side_by_side)
    fed = iter(keys)

    def read_key():
        key = next(fed)
        if isinstance(key, BaseException):
            raise key
        return key

    finished = step_through(makers, trace.names, console, height, read_key)
    screens = console.file.getvalue().split(CLEAR)[1:]
    return finished, [ANSI.sub("", screen) for screen in screens]


@pytest.mark.parametrize("side_by_side", [False, True])
def test_every_screen_fits_100x30_with_title_formula_verdict_and_footer(trace, side_by_side):
    total = len(trace.stages)
    finished, screens = step_screens(trace, ["\r"] * total, side_by_side=side_by_side)
    assert finished and len(screens) == total
    for number, (stage, screen) in enumerate(zip(trace.stages, screens, strict=True), 1):
        lines = screen.rstrip("\n").split("\n")
        assert len(lines) <= 30, (stage.name, len(lines))
        assert max(cell_len(line) for line in lines) <= 100
        assert lines[0].startswith(f"╭─ {stage.name}  "), lines[0]  # the title is on screen
        formula = stage.formula.split(";  ")[0].strip()
        assert formula[:40] in screen, stage.name
        assert "✓" in screen  # the verdict
        assert lines[-1].startswith(f"stage {number}/{total} · {stage.name}   Enter/→/space next")


@pytest.mark.parametrize("side_by_side", [False, True])
def test_tall_stages_are_shrunk_to_fit_and_short_ones_are_not(trace, side_by_side):
    names = trace.names
    _, screens = step_screens(trace, ["\r"] * len(names), side_by_side=side_by_side)
    by_name = dict(zip(names, screens, strict=True))
    conv_cols = by_name["conv.cols"].rstrip("\n").split("\n")
    assert len(conv_cols) <= 30
    all_rows = all(f" {row} │" in by_name["conv.cols"] for row in range(9))
    # conv.cols (9 rows × 16 columns): one grid fits as it is; ours and torch's stacked take
    # 33 lines, so they are re-rendered with elided rows.
    full_height = rendered_height_of(trace, "conv.cols", side_by_side)
    assert (full_height > 29) == side_by_side
    assert all_rows == (not side_by_side)
    # the input fits as it is: all 6 rows shown
    assert all(f" {row} │" in by_name["input"] for row in range(6))


def rendered_height_of(trace, name, side_by_side):
    console = make_console(width=100, file=io.StringIO(), no_color=True)
    (make,) = stage_makers(trace, [trace[name]], width=100, side_by_side=side_by_side)
    return rendered_height(make(12, 4), console)


def test_back_keys_return_to_the_previous_stage_and_stop_at_the_first(trace):
    keys = ["\x1b[C", "\x1b[D", "b", " ", "q"]
    finished, screens = step_screens(trace, keys)
    assert not finished
    footers = [screen.rstrip("\n").split("\n")[-1].split("   ")[0] for screen in screens]
    total = len(trace.stages)
    first, second = (f"stage {i}/{total} · {trace.names[i - 1]}" for i in (1, 2))
    assert footers == [first, second, first, first, second]


@pytest.mark.parametrize("stop", ["q", "\x03", "", KeyboardInterrupt()])
def test_q_ctrl_c_and_end_of_input_quit(trace, stop):
    finished, screens = step_screens(trace, ["\r", stop])
    assert finished is False and len(screens) == 2


def test_when_nothing_fits_the_middle_is_cut_keeping_title_and_verdict(trace):
    console = make_console(width=100, file=io.StringIO(), no_color=True)
    (make,) = stage_makers(trace, [trace["conv.cols"]], width=100)
    assert all(rendered_height(make(*limits), console) > 12 for limits in FIT_LADDER)
    fitted = fit_to_height(make, console, 12)
    text = render(fitted)
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == 12
    assert lines[0].startswith("╭─ conv.cols  ") and lines[-1].startswith("╰")
    assert "lines not shown" in text and "✓ matches torch" in text


def test_a_disagreeing_stage_too_tall_for_30_rows_keeps_title_formula_and_verdict():
    # kernel-flipped: conv.out shows ours, torch's and the difference, 35 lines at the least
    buggy = attach_reference(run_pipeline(build_scenario(ScenarioSpec(bug="kernel-flipped"))))
    index = buggy.names.index("conv.out")
    finished, screens = step_screens(buggy, ["\r"] * index + ["q"])
    screen = screens[index]
    lines = screen.rstrip("\n").split("\n")
    assert not finished and len(lines) <= 30
    assert lines[0].startswith("╭─ conv.out  ")
    assert "H = W_row @ X_col + b" in screen
    assert "│ ours " in screen and "│ torch " in screen
    assert "lines not shown" in screen
    assert "✗ max |Δ|" in screen
    assert lines[-1].startswith(f"stage {index + 1}/{len(buggy.names)} · conv.out")


def test_a_disagreeing_stage_that_fits_shows_ours_torch_and_the_difference():
    buggy = attach_reference(run_pipeline(build_scenario(ScenarioSpec(bug="kernel-flipped"))))
    index = buggy.names.index("pool.argmax")
    _, screens = step_screens(buggy, ["\r"] * index + ["q"])
    screen = screens[index]
    assert len(screen.rstrip("\n").split("\n")) <= 30
    for label in ("│ ours ", " torch ", " ours − torch "):
        assert label in screen, label
    assert "lines not shown" not in screen and "✗ max |Δ|" in screen


# --- the heading, jumps, resize (issue 23) ------------------------------------------------------
def stepped(trace, keys, *, width=100, height=30, sizes=None):
    """Screens of step_through with the scenario heading and sections, fed ``keys``; ``sizes``:
    the terminal's size before each key (a resize when it changes)."""
    from rich.text import Text

    from convtrace.render.heading import scenario_heading

    console = make_console(width=width, file=io.StringIO(), force_terminal=True, no_color=True)
    console.size = (width, height)
    remade = []

    def remake(new_width):
        remade.append(new_width)
        return stage_makers(trace, trace.stages, width=new_width)

    fed = iter(keys)
    size_now = iter(sizes) if sizes else None
    current = [(width, height)]

    def terminal_size():
        return current[0]

    def read_key():
        if size_now is not None:
            current[0] = next(size_now)
        return next(fed)

    sections = ["Backward" if s.is_gradient else "Forward" for s in trace.stages]
    heading = Text(scenario_heading(trace.scenario), justify="center")
    finished = step_through(
        stage_makers(trace, trace.stages, width=width),
        trace.names,
        console,
        height,
        read_key,
        heading=heading,
        sections=sections,
        terminal_size=terminal_size,
        remake=remake,
    )
    screens = [ANSI.sub("", s) for s in console.file.getvalue().split(CLEAR)[1:]]
    return finished, screens, remade


def footer_name(screen):
    return screen.rstrip("\n").split("\n")[-1].split(" · ")[1].split("   ")[0]


def test_every_screen_starts_with_the_scenario_heading_and_its_section(trace):
    total = len(trace.stages)
    finished, screens, _ = stepped(trace, ["\r"] * total)
    assert finished and len(screens) == total
    for stage, screen in zip(trace.stages, screens, strict=True):
        lines = screen.rstrip("\n").split("\n")
        assert "x 1×1×6×6" in lines[0] and "seed 42" in lines[0]
        section = "Backward" if stage.is_gradient else "Forward"
        assert section in lines[1] and "─" in lines[1]
        assert len(lines) <= 30 and max(cell_len(line) for line in lines) <= 100
        assert f"╭─ {stage.name}  " in screen and "✓" in screen


def test_keys_jump_to_the_first_the_last_a_number_and_a_name(trace):
    names = trace.names
    keys = ["G", "g", "\x1b[F", "\x1b[H", "1", "2", "\r", ":", *"pool.out", "\r"]
    keys += [":", "x", "\x7f", *"grad.in", "\r", "9", "9", "\r", "3", "\x1b", "q"]
    finished, screens, _ = stepped(trace, keys)
    assert finished is False
    seen = [footer_name(s) for s in screens]
    at = {len(seen) - 1 - k: name for k, name in enumerate(reversed(seen))}
    expected_after_enter = [names[11], "pool.out", "grad.input", "grad.input"]
    moves = [names[-1], names[0], names[-1], names[0]]
    assert seen[1:5] == moves
    enters = [i + 1 for i, key in enumerate(keys) if key == "\r"]
    assert [at[i] for i in enters] == expected_after_enter  # 99 is out of range: it stays
    assert "go to: 12" in screens[6] and "go to: :grad.in" in screens[enters[2] - 1]


def test_a_resize_redraws_at_the_new_size(trace):
    keys = ["\r", "\x00resize", "\r", "q"]
    sizes = [(100, 30), (80, 24), (80, 24), (80, 24)]
    finished, screens, remade = stepped(trace, keys, sizes=sizes)
    assert remade == [80]
    for screen in screens[2:]:
        lines = screen.rstrip("\n").split("\n")
        assert len(lines) <= 24 and max(cell_len(line) for line in lines) <= 80, screen
        assert "stage " in lines[-1] and "q" in lines[-1]


def test_backward_step_shows_the_forward_summary_first_then_the_closing_table(monkeypatch):
    from typer.testing import CliRunner

    import convtrace.render.stepper as stepper
    from convtrace.cli.main import app

    monkeypatch.setattr(stepper, "can_step", lambda: True)
    monkeypatch.setattr(stepper, "read_terminal_key", lambda: "\r")
    monkeypatch.setattr(stepper, "terminal_size", lambda: (100, 30))
    monkeypatch.setenv("COLUMNS", "100")
    result = CliRunner().invoke(app, ["backward", "--step", "--color", "never"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    first_summary = out.index("conv.out ")
    first_backward = out.index("╭─ grad.")
    assert first_summary < first_backward
    closing = out.rindex("stage ")
    # after the last backward screen: the closing table, with no summary line repeated
    tail = out[out.rindex("╰") :]
    assert "25 of 25 stages agree" in tail and "conv.out " in tail and closing
    rows = [line for line in tail.splitlines() if line.strip().startswith("conv.out ")]
    assert len(rows) == 1  # only its closing-table row
