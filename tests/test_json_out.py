"""The streamed --json document (issue 10, items 10 and 17)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convtrace.core.errors import ConvtraceError
from convtrace.render.json_out import check_document_size, write_array, write_trace_document
from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing.pipeline import run_pipeline
from convtrace.tracing.reference import attach_reference
from convtrace.tracing.stage import Stage


def strict_loads(text: str):
    """json.loads that refuses NaN and ±Infinity, as strict JSON parsers do."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int64]),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=4),
    )
)
def test_arrays_are_written_as_json_dumps_of_tolist_with_null_for_non_finite(array):
    out = io.StringIO()
    write_array(array, out)
    if array.dtype.kind == "f":
        expected = np.where(np.isfinite(array), array, np.nan).astype(object)
        expected[~np.isfinite(array)] = None
        expected = json.dumps(np.asarray(expected).tolist() if array.ndim else expected.item())
    else:
        expected = json.dumps(array.tolist())
    assert strict_loads(out.getvalue()) == strict_loads(expected)


def _trace(**spec):
    trace = run_pipeline(build_scenario(ScenarioSpec(**spec)))
    return attach_reference(trace)


def test_document_holds_every_stage_with_torch_values():
    trace = _trace(pool="avg", activation="relu", padding="same")
    out = io.StringIO()
    write_trace_document(trace, trace.stages, out)
    doc = strict_loads(out.getvalue())
    assert [s["name"] for s in doc["stages"]] == trace.names
    for stage, written in zip(trace.stages, doc["stages"], strict=True):
        assert written["shape"] == list(stage.shape)
        np.testing.assert_array_equal(np.asarray(written["values"]), stage.values)
        np.testing.assert_array_equal(np.asarray(written["reference"]), stage.reference)
        assert written["agrees"] is True
    assert doc["scenario"]["pool"] == "avg" and doc["tolerance"] == 1e-5


def test_non_finite_numbers_become_null():
    trace = _trace()
    stage = Stage("odd", "a stage torch overflowed in", np.array([1.0, 2.0]))
    stage.reference = np.array([np.inf, np.nan])
    out = io.StringIO()
    write_trace_document(trace, [stage], out)
    written = strict_loads(out.getvalue())["stages"][0]
    assert written["reference"] == [None, None] and written["max_abs_diff"] is None


def test_document_size_is_held_to_the_element_budget():
    trace = _trace()
    check_document_size(trace.stages, 10_000)
    with pytest.raises(ConvtraceError, match=r"--json document would hold [\d,]+ numbers"):
        check_document_size(trace.stages, 100)
