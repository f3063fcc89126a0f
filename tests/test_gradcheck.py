"""--gradcheck: finite differences of the loss as a fourth witness (issue 12, item 8)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from convtrace.render.stages import verdict_text
from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing.gradcheck import attach_numeric, numeric_gradients
from convtrace.tracing.pipeline import run_pipeline
from convtrace.tracing.reference import attach_reference


def _scenario(size=None, **spec):
    if size is not None:
        spec.update(height=size, width=size)
    return build_scenario(ScenarioSpec(**spec))


@settings(max_examples=12, deadline=None)
@given(
    size=st.integers(5, 8),
    kernel=st.integers(2, 3),
    stride=st.integers(1, 2),
    padding=st.sampled_from(["valid", "same"]),
    pool=st.sampled_from(["max", "avg", "none"]),
    activation=st.sampled_from(["none", "relu"]),
    loss=st.sampled_from(["bce", "mse", "ce"]),
    seed=st.integers(0, 1000),
)
def test_numeric_gradients_agree_with_torch_autograd(**spec):
    """Compared with torch's autograd values, not with our own backward."""
    scenario = _scenario(dtype="float64", **spec)
    trace = attach_reference(run_pipeline(scenario))
    for name, check in numeric_gradients(scenario, budget=30).items():
        torch_grad = trace[name].reference[tuple(check.indices.T)]
        fine = ~check.kinks
        scale = max(1.0, float(np.max(np.abs(torch_grad))) if torch_grad.size else 1.0)
        assert np.all(np.abs(check.values[fine] - torch_grad[fine]) <= 1e-6 * scale), name


def test_a_max_pool_tie_is_a_kink_not_a_failure():
    # a 2×2 input, kernel 1, weight 1: the pooled window holds two equal maxima
    x = np.array([[[[3.0, 3.0], [1.0, 2.0]]]])
    spec = ScenarioSpec(input=x, params={"conv.weight": np.ones((1, 1, 1, 1))}, dtype="float64")
    trace = attach_numeric(attach_reference(run_pipeline(build_scenario(spec))))
    stage = trace["grad.input"]
    assert stage.numeric.kinks[:2].all() and not stage.numeric.kinks[2:].any()
    assert stage.agrees(trace.tolerance)
    assert "kink" in verdict_text(stage, trace.tolerance).plain


def test_a_relu_at_zero_is_a_kink():
    x = np.array([[[[1.0, -1.0], [2.0, 0.5]]]])
    spec = ScenarioSpec(
        input=x, params={"conv.weight": np.ones((1, 1, 1, 1)), "conv.bias": np.array([-1.0])},
        activation="relu", pool="none", dtype="float64",
    )  # fmt: skip
    check = numeric_gradients(build_scenario(spec))["grad.input"]
    assert check.kinks.tolist() == [True, False, False, False]  # 1 - 1 = 0: the kink


def test_large_stages_are_sampled_and_say_so():
    scenario = _scenario(size=20)
    check = numeric_gradients(scenario, budget=50)["grad.input"]
    # 50 cells checked: a cell at a kink is replaced by the next one, not counted as checked
    assert check.checked == 50 and check.of == 400 and check.sampled
    assert len(check.values) == 50 + int(check.kinks.sum())
    trace = attach_numeric(run_pipeline(scenario), budget=50)
    assert "(sampled)" in verdict_text(trace["grad.input"], trace.tolerance).plain


def test_a_wrong_analytic_gradient_is_caught_by_the_numeric_witness():
    trace = attach_numeric(run_pipeline(_scenario(pool="avg", loss="mse")))
    stage = trace["grad.fc.weight"]
    assert stage.agrees(trace.tolerance)
    stage.values = stage.values + 1
    assert stage.agrees(trace.tolerance) is False
    assert "≠ numeric" in verdict_text(stage, trace.tolerance).plain


def test_every_parameter_stage_is_checked():
    checked = {"grad.input", "grad.conv.weight", "grad.conv.bias", "grad.fc.weight", "grad.fc.bias"}
    assert set(numeric_gradients(_scenario())) == checked
