"""Stage comparison and Trace lookup."""

import numpy as np

from convtrace.tracing.stage import Stage, Trace


def test_stage_agreement_uses_relative_tolerance_and_reports_worst_index():
    ours = np.array([[1.0, 2.0], [3.0, 1000.0]])
    ref = ours.copy()
    ref[1, 1] += 1e-3  # 1e-6 relative to the largest value: agrees at 1e-5
    stage = Stage("x", "x", ours, reference=ref)
    assert stage.agrees(1e-5) is True
    ref[0, 0] += 0.1
    assert stage.agrees(1e-5) is False
    assert stage.worst_index() == (0, 0)
    assert abs(stage.max_abs_diff - 0.1) < 1e-12


def test_alternatives_count_in_the_verdict_and_none_without_comparison():
    stage = Stage("conv.out", "H", np.zeros(3), alternatives={"loop": np.ones(3)})
    assert stage.agrees(1e-9) is False
    assert Stage("a", "a", np.zeros(2)).agrees(1e-9) is None


def test_shape_mismatch_never_agrees():
    stage = Stage("a", "a", np.zeros(3), reference=np.zeros(4))
    assert stage.max_abs_diff == float("inf") and stage.agrees(1.0) is False


def test_trace_lookup_select_and_failures():
    t = Trace(dtype="float64")
    t.add(Stage("conv.out", "H", np.zeros(2), reference=np.zeros(2)))
    t.add(Stage("grad.conv.out", "dH", np.zeros(2), reference=np.ones(2)))
    assert t["conv.out"].name == "conv.out" and "grad.conv.out" in t
    assert [s.name for s in t.select("grad.*")] == ["grad.conv.out"]
    assert [s.name for s in t.failures()] == ["grad.conv.out"]
    assert t.tolerance == 1e-9
