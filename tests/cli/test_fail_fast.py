"""Patterns and cells that cannot match are refused before any computing (issue 10, item 14)."""

from __future__ import annotations

import itertools

import pytest

from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing import pipeline
from convtrace.tracing.pipeline import run_pipeline, stage_names


@pytest.fixture
def no_computing(monkeypatch):
    """Make any pipeline run fail the test: the refusal must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("the pipeline ran before the refusal")

    monkeypatch.setattr(pipeline, "run_pipeline", refuse)


@pytest.mark.parametrize(
    ("pattern", "hint"),
    [
        ("grad", "did you mean --only 'grad.*' (11 stages)?"),
        ("conv.", "did you mean --only 'conv.*'"),
        ("nothing.*", "stages are: input, conv.weight"),
    ],
)
def test_only_pattern_is_checked_before_the_run(invoke, no_computing, pattern, hint):
    result = invoke("run", "--only", pattern)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: no stage matches --only {pattern!r}")
    assert hint in result.output


def test_a_pattern_matching_some_stage_still_runs(invoke):
    result = invoke("run", "--only", "grad.pool.*", "--pool", "avg")
    assert result.exit_code == 0 and "grad.pool.cols" in result.output


@pytest.mark.parametrize(
    ("activation", "pool", "padding", "method"),
    list(itertools.product(("none", "relu"), ("max", "avg", "none"), ("valid", "same"), ("both",)))
    + [("relu", "max", "same", "loop")],
)
def test_stage_names_list_every_stage_a_run_records_in_order(activation, pool, padding, method):
    spec = ScenarioSpec(activation=activation, pool=pool, padding=padding, method=method)
    scenario = build_scenario(spec)
    names, possible = run_pipeline(scenario).names, stage_names(scenario.layers)
    assert set(names) <= set(possible)
    assert names == [n for n in possible if n in names]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["conv.outt[0,0,0,0]"], "it explains one cell of: conv.out[n,f,i,j], pool.out[n,c,i,j]"),
        (["pool.argmax[0,0,0,0]"], "explain has no sum for 'pool.argmax'"),
        (["conv2.out[0,0,0,0]"], "conv2.out is not a stage of this network (it has no layer"),
        (["pool.out[0,0,0,0]", "--pool", "none"], "(it has no layer called pool)"),
        (["conv.out[0,0,0,0]", "--net", "conv(2,3) conv(2,3) fc(1)"], "explain covers: conv1.out"),
    ],
)
def test_explain_refuses_uncovered_stages_before_the_run(invoke, no_computing, args, message):
    result = invoke("explain", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
