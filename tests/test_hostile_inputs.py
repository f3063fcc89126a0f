"""Unit tests for the guards against hostile inputs: TOML strings, dtype range, overflow."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convtrace.core.errors import InputFileError, NumericError
from convtrace.core.geometry import read_mask
from convtrace.scenario.toml_file import _toml_string
from convtrace.scenario.validation import in_dtype
from convtrace.tracing.stage import Stage, Trace

# Any text a file name can hold and UTF-8 can encode (no lone surrogates).
names = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@given(names)
def test_toml_strings_round_trip_through_tomllib(text):
    assert tomllib.loads(f"key = {_toml_string(text)}\n")["key"] == text


@given(names)
def test_an_escaped_name_in_a_comment_never_ends_the_comment(text):
    document = f"# replay: {_toml_string(text)}\nseed = 1\n"
    assert tomllib.loads(document) == {"seed": 1}


def test_a_name_that_is_not_unicode_cannot_be_written():
    undecodable = b"dir\xff".decode("utf-8", "surrogateescape")
    with pytest.raises(InputFileError, match="not valid UTF-8"):
        _toml_string(undecodable)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_in_dtype_accepts_the_largest_finite_value_and_refuses_beyond(dtype):
    limit = np.finfo(dtype).max
    assert in_dtype(np.array([limit], np.float64), dtype, "x")[0] == limit
    if dtype == "float32":
        with pytest.raises(NumericError, match="float32"):
            in_dtype(np.array([1e39]), dtype, "the input")


def test_in_dtype_converts_huge_python_integers_without_overflow_error():
    with pytest.raises(NumericError, match="float32"):
        in_dtype(np.array([10**40], dtype=np.float64), "float32", "the target")


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_trace_refuses_the_first_stage_that_left_the_range(bad):
    trace = Trace(dtype="float32")
    trace.add(Stage("conv.out", "H", np.ones((1, 1, 2, 2), np.float32)))
    values = np.ones((1, 1, 2, 2), np.float32)
    values[0, 0, 1, 0] = bad
    with pytest.raises(NumericError, match=r"stage fc\.out .* at index \[0, 0, 1, 0\].*float32"):
        trace.add(Stage("fc.out", "z", values))
    assert trace.names == ["conv.out"]


def test_trace_accepts_integer_stages_and_finite_scalars():
    trace = Trace(dtype="float64")
    trace.add(Stage("pool.argmax", "a", np.array([[3, 1]])))
    trace.add(Stage("loss", "L", np.asarray(1e308)))
    assert len(trace) == 2


@given(
    size=st.integers(1, 60),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 9),
    dilation=st.integers(1, 4),
    before=st.integers(0, 5),
    after=st.integers(0, 5),
)
def test_read_mask_is_the_union_of_every_window_s_taps(
    size, kernel, stride, dilation, before, after
):
    padded = size + before + after
    span = dilation * (kernel - 1) + 1
    if span > padded:
        return
    n_out = (padded - span) // stride + 1
    expected = bytearray(padded)
    for i in range(n_out):
        for u in range(kernel):
            expected[i * stride + u * dilation] = 1
    assert read_mask(size, kernel, stride, dilation, before, after) == expected
