"""Traces for the live tests, built once (the torch reference takes a second)."""

import pytest

from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing.pipeline import run_pipeline
from convtrace.tracing.reference import attach_reference

SCENARIOS = {
    "default": {},
    "same-s2-d2-batch2-relu-avg": dict(
        batch=2, channels=2, height=7, width=7, padding="same", stride=2, dilation=2,
        activation="relu", pool="avg", pool_stride=1,
    ),
    "pad1-k2-s2-overlapping-max": dict(
        batch=2, channels=3, height=5, width=8, kernel=2, padding=1, stride=2, filters=3,
        pool_size=2, pool_stride=1, seed=7, dtype="float64",
    ),
}  # fmt: skip
_TRACES = {}


def trace_of(name: str):
    if name not in _TRACES:
        spec = ScenarioSpec(**SCENARIOS[name])
        _TRACES[name] = attach_reference(run_pipeline(build_scenario(spec), backward=True))
    return _TRACES[name]


@pytest.fixture(scope="session")
def trace():
    return trace_of("default")


@pytest.fixture
def invoke(monkeypatch):
    """Run the CLI at 100 columns without colour (as tests/cli does); return the Result."""
    from typer.testing import CliRunner

    from convtrace.cli.main import app

    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    return lambda *args: CliRunner().invoke(app, [str(a) for a in args])
