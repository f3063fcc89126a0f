"""Projector mode: one grid where ours and torch print identically, the difference grid where
they disagree, and the ``--step`` loop (clear, fit to height, keys, footer) driven by fed keys."""

from __future__ import annotations

import numpy as np
import pytest

from convtrace.pipeline import run_pipeline
from convtrace.reference import attach_reference
from convtrace.render.stages import stage_panel
from convtrace.scenario import ScenarioSpec, build_scenario
from convtrace.trace import Stage
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


def test_disagreeing_stage_shows_both_and_the_difference():
    text = render(stage_panel(wrong_stage(), rtol=RTOL))
    assert "ours = torch" not in text
    assert "torch" in text and "ours − torch" in text
    # The difference grid holds ours − torch at the one wrong cell: −0.31, zeros elsewhere.
    assert "-0.31" in text
