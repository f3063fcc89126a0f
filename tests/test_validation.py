"""Validation when a Scenario is built: shapes, sizes and values of supplied arrays."""

import numpy as np
import pytest
import torch

from convtrace.core.errors import ConvtraceError, ParameterError, ShapeError
from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec
from convtrace.scenario.validation import LOOP_POSITION_LIMIT, check_finite, check_supplied


def test_check_finite_names_the_first_bad_index():
    a = np.zeros((2, 3))
    a[1, 2], a[0, 1] = np.inf, np.nan
    with pytest.raises(ShapeError, match=r"x.npy contains nan at index \[0, 1\]"):
        check_finite(a, "x.npy")


def test_check_supplied_rank_and_emptiness():
    with pytest.raises(ShapeError, match=r"w must be 4-D \(F, C, kh, kw\), got shape \(3, 3\)"):
        check_supplied(np.ones((3, 3)), "w", 4, "(F, C, kh, kw)")
    with pytest.raises(ShapeError, match="has no elements"):
        check_supplied(np.ones((1, 0, 3, 3)), "w", 4, "(F, C, kh, kw)")


def _budget(monkeypatch, **options):
    """Build a classroom scenario, failing if the budget lets anything be drawn."""
    monkeypatch.setattr(torch, "randint", lambda *a, **k: pytest.fail("drew numbers"))
    build_scenario(ScenarioSpec(**options))


def test_budget_names_the_input_when_it_is_too_big(monkeypatch):
    with pytest.raises(ParameterError) as error:
        _budget(monkeypatch, height=10_000, width=10_000)
    assert str(error.value) == (
        "the input would have 1×1×10000×10000 = 100,000,000 elements, more than the limit of "
        "10,000,000; use a smaller --size or --batch (or fewer --filters, a bigger --stride), "
        "or raise the limit with --max-elements 100000000"
    )


def test_budget_counts_the_im2col_matrix(monkeypatch):
    # the input (640,000) fits; X_col repeats each pixel up to 7·7 times: 64·49·94·94
    with pytest.raises(ParameterError, match=r"im2col matrix X_col .* = 27,709,696 elements"):
        _budget(monkeypatch, channels=64, height=100, width=100, kernel=7, pool="none",
                method="im2col")  # fmt: skip


def test_budget_counts_the_conv_weight(monkeypatch):
    with pytest.raises(ParameterError, match=r"conv's weight \(F·C·kh·kw\) would have"):
        _budget(monkeypatch, height=1000, width=1000, kernel=1000, filters=10**6, pool="none")


def test_budget_counts_the_pooling_windows(monkeypatch):
    # conv output 2·4·998·998 fits under 20M; a 5×5 window at stride 1 repeats it 25 times
    with pytest.raises(ParameterError, match=r"pool's windows would have 2×4×5×5×988036"):
        _budget(monkeypatch, batch=2, height=1000, width=1000, filters=4, pool_size=5,
                pool_stride=1, method="im2col", max_elements=20_000_000)  # fmt: skip


def test_budget_refuses_long_loop_runs_and_points_to_im2col(monkeypatch):
    options = dict(batch=10, height=102, width=102, filters=8, pool="none")
    with pytest.raises(ParameterError, match="use --method im2col") as error:
        _budget(monkeypatch, method="both", **options)
    assert "800,000 output positions" in str(error.value)
    assert 10 * 8 * 100 * 100 > LOOP_POSITION_LIMIT
    monkeypatch.undo()
    assert build_scenario(ScenarioSpec(method="im2col", **options)).x.shape == (10, 1, 102, 102)


def test_absurd_sizes_are_refused_before_anything_is_generated(monkeypatch):
    def no_draws(*args, **kwargs):
        raise AssertionError("torch drew numbers before the size check")

    monkeypatch.setattr(torch, "randint", no_draws)
    for spec in (ScenarioSpec(height=10**6, width=10**6), ScenarioSpec(batch=10**9)):
        with pytest.raises(ParameterError, match="more than the limit of 10,000,000"):
            build_scenario(spec)


def test_max_elements_raises_the_limit():
    spec = ScenarioSpec(height=40, width=40, max_elements=1000, method="im2col")
    with pytest.raises(ParameterError, match="--max-elements"):
        build_scenario(spec)
    assert build_scenario(spec.updated(max_elements=100_000)).x.shape == (1, 1, 40, 40)
    with pytest.raises(ParameterError, match="--max-elements must be at least 1"):
        build_scenario(spec.updated(max_elements=0))


def test_supplied_input_sets_the_counts_and_the_generated_weights_follow():
    x = np.arange(2 * 3 * 5 * 5, dtype=np.float32).reshape(2, 3, 5, 5)
    s = build_scenario(ScenarioSpec(input=x))
    assert s.x.shape == (2, 3, 5, 5) and s.conv_weight.shape == (2, 3, 3, 3)
    assert s.target.shape == (2, 1) and s.fc_weight.shape == (1, 2)


def test_supplied_conv_weight_sets_filters_kernel_and_channels():
    w = np.ones((4, 3, 2, 2))
    s = build_scenario(ScenarioSpec(params={"conv.weight": w}))
    assert s.x.shape == (1, 3, 6, 6) and s.filters == 4 and s.kernel == (2, 2)


def test_channel_mismatch_names_both_files():
    spec = ScenarioSpec(
        input=np.ones((1, 1, 6, 6)),
        params={"conv.weight": np.ones((2, 3, 3, 3))},
        sources={"input": "x.npy", "conv.weight": "w.npz (conv.weight)"},
    )
    with pytest.raises(ShapeError) as error:
        build_scenario(spec)
    assert str(error.value) == (
        "x.npy has 1 channel(s) (shape (1, 1, 6, 6)) but w.npz (conv.weight) expects 3 "
        "(shape (2, 3, 3, 3))"
    )


def test_an_explicit_count_that_disagrees_with_a_file_is_refused():
    spec = ScenarioSpec(input=np.ones((1, 1, 6, 6)), channels=3, sources={"input": "x.npy"})
    with pytest.raises(ShapeError, match="--channels 3 disagrees with x.npy, whose shape"):
        build_scenario(spec)
    spec = ScenarioSpec(params={"conv.weight": np.ones((2, 1, 3, 3))}, kernel=5)
    with pytest.raises(ShapeError, match="--kernel .* disagrees with conv.weight"):
        build_scenario(spec)


def test_kernel_larger_than_a_supplied_input():
    with pytest.raises(ParameterError, match="kernel 3×3 does not fit the padded input 2×2"):
        build_scenario(ScenarioSpec(input=np.ones((2, 2))[None, None]))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("input", np.ones((1, 1, 1, 6, 6)), r"the input must be 4-D \(N, C, H, W\)"),
        ("input", np.full((1, 1, 6, 6), np.nan), r"contains nan at index \[0, 0, 0, 0\]"),
        ("conv.weight", np.array([[[["a"]]]]), "must hold real numbers"),
        ("fc.weight", np.ones((1, 5)), r"fc.weight must have shape \(out, 8\)"),
        ("target", np.array([[2.0]]), "for bce must be between 0 and 1"),
    ],
)
def test_supplied_arrays_are_judged(field, value, message):
    with pytest.raises(ConvtraceError, match=message):
        options = {field: value} if "." not in field else {"params": {field: value}}
        build_scenario(ScenarioSpec(**options))


def test_cross_entropy_classes_follow_a_supplied_fc_weight():
    fc = np.ones((4, 8))
    s = build_scenario(ScenarioSpec(loss="ce", params={"fc.weight": fc}))
    assert s.fc_weight.shape == (4, 8) and s.target.max() < 4
