"""Stage rendering: verdicts, panels, max-pool highlights, the closing table, and a snapshot of
the default run (``convtrace run --seed 42``) rendered at 100 columns without colour.

Regenerate the snapshot after an intended layout change with
``CONVTRACE_UPDATE_SNAPSHOTS=1 pytest tests/test_render_stages.py`` and review the diff.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from rich.cells import cell_len

from convtrace.render.closing import closing_table
from convtrace.render.console import make_console
from convtrace.render.stages import (
    highlights,
    stage_panel,
    stage_summary_line,
    trace_renderables,
    verdict_text,
)
from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing.pipeline import run_pipeline
from convtrace.tracing.reference import attach_reference
from convtrace.tracing.stage import Stage
from tests.render_text import render

SNAPSHOT = Path(__file__).parent / "snapshots" / "default_run_w100.txt"
RTOL = 1e-5


def pool_input_highlight(trace, *, reference=False):
    """The chosen cells max pooling marks on its input (None without max pooling)."""
    name = "act.out" if "act.out" in trace else "conv.out"
    mark = highlights(trace).get(name)
    return None if mark is None else mark[1 if reference else 0]


def trace_for(**changes):
    return attach_reference(run_pipeline(build_scenario(ScenarioSpec().updated(**changes))))


@pytest.fixture(scope="module")
def trace():
    return trace_for()


def render_run(trace, width: int = 100) -> str:
    parts = trace_renderables(trace, width=width)
    return render(*parts, closing_table(trace.stages, trace.tolerance), width=width)


def wrong_stage(**extra) -> Stage:
    values = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4) - 10
    reference = values.copy()
    reference[0, 1, 2, 2] += 0.31
    return Stage("conv.out", "Convolution output H", values, "H = conv(x)", reference, **extra)


# --- verdicts ---------------------------------------------------------------------------------


def test_verdict_matches_torch(trace):
    text = verdict_text(trace["input"], RTOL)
    assert text.plain == "✓ matches torch · max |Δ| 0"
    assert text.style == "ct.ok"


def test_verdict_names_the_other_method(trace):
    assert verdict_text(trace["conv.out"], RTOL).plain == "✓ loop = im2col = torch · max |Δ| 0"


def test_verdict_disagreement_gives_size_and_index():
    text = verdict_text(wrong_stage(), RTOL)
    assert text.plain.startswith("✗ max |Δ| 3.1e-01 at [0, 1, 2, 2]")
    assert "ours ≠ torch" in text.plain
    assert text.style == "ct.bad"


def test_verdict_disagreeing_loop_is_named():
    stage = wrong_stage()
    stage.reference = stage.values.copy()
    loop = stage.values.copy()
    loop[0, 0, 0, 1] -= 2
    stage.alternatives = {"loop": loop}
    text = verdict_text(stage, RTOL).plain
    assert text.startswith("✗ max |Δ| 2.0e+00 at [0, 0, 0, 1] · im2col ≠ loop")
    assert "torch" not in text  # torch agrees; only the failing comparison is named
    panel = render(stage_panel(stage, rtol=RTOL))
    assert "ours (loop)" in panel  # a disagreeing method's tensor is shown too


def test_verdict_shape_mismatch():
    stage = wrong_stage()
    stage.reference = stage.reference[0]
    assert "shapes differ" in verdict_text(stage, RTOL).plain


def test_verdict_without_comparison():
    stage = Stage("x", "x", np.ones(3))
    assert verdict_text(stage, RTOL).plain == "· not compared"
    assert verdict_text(stage, RTOL, reference_ran=True).plain == "· no torch equivalent"


# --- panels -----------------------------------------------------------------------------------


def test_panel_has_title_formula_both_tensors_and_verdict(trace):
    text = render(stage_panel(trace["conv.out"], rtol=RTOL))
    lines = text.splitlines()
    assert "conv.out  (1, 2, 4, 4)  Convolution output H" in lines[0]
    assert "H_out = ⌊(6 + 0 + 0 − 1·(3−1) − 1) / 1⌋ + 1 = 4" in text
    assert "ours (im2col)" in text and "torch" in text
    assert "✓ loop = im2col = torch · max |Δ| 0" in lines[-2]


def test_small_tensors_sit_side_by_side(trace):
    text = render(stage_panel(trace["pool.out"], rtol=RTOL))
    assert any("ours" in line and "torch" in line for line in text.splitlines())


def test_side_by_side_falls_back_to_stacked_when_narrow(trace):
    panel = stage_panel(trace["conv.out"], rtol=RTOL, width=60, side_by_side=True)
    text = render(panel, width=60)
    assert not any("ours" in line and "torch" in line for line in text.splitlines())
    assert max(cell_len(line) for line in text.splitlines()) <= 60


def test_loss_is_one_number_with_formula(trace):
    text = render(stage_panel(trace["loss"], rtol=RTOL, side_by_side=True))
    assert "loss  scalar  Loss (bce)" in text
    assert "L = mean(max(z,0) − z·y + log(1 + e^−|z|))" in text
    value = re.search(r"│ (\S+) +(\S+) +│", text.splitlines()[4])
    assert value and value.groups() == ("18", "18")
    assert "target y = 0" in text


# --- max-pool highlight -----------------------------------------------------------------------


def test_pool_input_highlight_marks_one_maximum_per_window(trace):
    mask = pool_input_highlight(trace)
    conv = trace["conv.out"].values
    assert mask.shape == conv.shape and mask.sum() == trace["pool.out"].values.size

    def windows(a):  # (N, C, 4, 4) -> (N, C, 2, 2, 2, 2): [n, c, i, j, u, v], 2×2 stride 2
        return a.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)

    assert (windows(mask).sum(axis=(-1, -2)) == 1).all()
    chosen = np.where(windows(mask), windows(conv), 0).sum(axis=(-1, -2))
    np.testing.assert_array_equal(chosen, trace["pool.out"].values)
    np.testing.assert_array_equal(pool_input_highlight(trace, reference=True), mask)


def test_pool_input_is_the_activation_with_relu():
    relu = trace_for(activation="relu")
    assert pool_input_highlight(relu).shape == relu["act.out"].shape
    assert "[x] = the maximum" in render(*trace_renderables(relu, stages=["act.out"]))


def test_no_highlight_without_max_pooling():
    assert pool_input_highlight(trace_for(pool="avg")) is None


def test_highlight_survives_no_color(trace, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    console = make_console(width=100, file=out, force_terminal=True)
    assert console.no_color
    for part in trace_renderables(trace, stages=["conv.out"]):
        console.print(part)
    ansi = out.getvalue()
    colours = [
        p
        for params in re.findall(r"\x1b\[([0-9;]*)m", ansi)
        for p in filter(None, params.split(";"))
        if 30 <= int(p) <= 49 or 90 <= int(p) <= 107
    ]
    assert colours == []
    plain = re.sub(r"\x1b\[[0-9;]*m", "", ansi)
    assert "0 │   [5]    5   [-1]   -4" in plain  # conv.out row 0: the chosen cells bracketed
    assert "[x] = the maximum of its pooling window" in plain


# --- whole run, summaries, closing table ------------------------------------------------------


def test_renderables_have_forward_then_backward_headings(trace):
    parts = trace_renderables(trace)
    assert len(parts) == len(trace) + 2
    text = render(*parts)
    assert text.index("Forward") < text.index("╭─ input") < text.index("Backward")
    assert text.index("Backward") < text.index("╭─ grad.fc.out")


def test_renderables_accept_stage_names(trace):
    parts = trace_renderables(trace, stages=["grad.input"])
    assert len(parts) == 2 and "Backward" in render(parts[0])


@pytest.mark.parametrize("width", [100, 80])
def test_default_run_fits_the_width(trace, width):
    lines = render_run(trace, width).splitlines()
    too_long = [line for line in lines if cell_len(line) > width]
    assert too_long == []


def test_bigger_run_is_not_a_wall_of_numbers():
    big = trace_for(batch=2, channels=3, height=28, width=28, filters=4, padding="same")
    text = render(*trace_renderables(big, stages=["input", "conv.cols", "conv.out"]))
    assert "⋯" in text and "⋮" in text and "more slices" in text
    assert len(text.splitlines()) < 150


def test_summary_line(trace):
    line = stage_summary_line(trace["conv.bias"], RTOL)
    assert line.plain.split() == ["conv.bias", "(2,)", "[1,", "1]", "✓"]
    wide = stage_summary_line(trace["input"], RTOL).plain
    assert "x∈[1, 9]" in wide and cell_len(wide) <= 80
    assert stage_summary_line(wrong_stage(), RTOL).plain.rstrip().endswith("✗")


def test_closing_table_counts_and_marks(trace):
    stages = [*trace.stages, Stage("extra", "no torch", np.ones(2))]
    text = render(closing_table(stages, RTOL))
    assert "✓ 25 of 25 stages agree · |Δ| ≤ 1e-05·Σ|terms| · 1 not compared" in text
    assert re.search(r"extra\s+\(2,\)\s+—\s+—", text)
    bad = render(closing_table([wrong_stage()], RTOL))
    assert "3.1e-01" in bad and "✗ 0 of 1 stages agree" in bad


def test_default_run_snapshot(trace):
    """The whole default run at 100 columns; fails on any layout change (see module doc)."""
    text = "\n".join(line.rstrip() for line in render_run(trace).splitlines()) + "\n"
    if os.environ.get("CONVTRACE_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot yet: run with CONVTRACE_UPDATE_SNAPSHOTS=1"
    assert text == SNAPSHOT.read_text(encoding="utf-8")
