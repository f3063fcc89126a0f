"""Output sizes and padding resolution against torch's shapes and the written-out "same" rule."""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convtrace import ConvtraceError, output_size, resolve_padding
from convtrace.core.geometry import unread_positions


def torch_out_hw(hw, kernel, stride, padding, dilation) -> tuple[int, int]:
    """Output (H, W) of torch's conv2d on a shape-only (meta) tensor."""
    x = torch.empty((1, 1, *hw), device="meta")
    w = torch.empty((1, 1, *kernel), device="meta")
    return tuple(F.conv2d(x, w, None, stride, padding, dilation).shape[2:])


@st.composite
def axis_configs(draw):
    """(size, kernel, stride, dilation, padding) for one axis with the kernel fitting."""
    k, s, d, p = (
        draw(st.integers(1, 5)),
        draw(st.integers(1, 4)),
        draw(st.integers(1, 3)),
        draw(st.integers(0, 3)),
    )
    n = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 20))
    return n, k, s, d, p


@settings(max_examples=100, deadline=None)
@given(h=axis_configs(), w=axis_configs())
def test_output_size_matches_torch_for_explicit_padding(h, w):
    hw, kernel, stride, dilation, pad = zip(h, w, strict=True)
    expected = torch_out_hw(hw, kernel, stride, pad, dilation)
    assert output_size(hw, kernel, stride, pad, dilation) == expected
    # int in -> int out, pair in -> pair out
    (n, k, s, d, p) = h
    got = output_size(n, k, s, p, d)
    assert type(got) is int and got == torch_out_hw((n, 1), (k, 1), (s, 1), (p, 0), (d, 1))[0]


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")  # torch pads a copy
@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
)
def test_same_padding_rule(size, kernel, stride, dilation):
    """out = ceil(n/s); total = max((out-1)*s + d*(k-1)+1 - n, 0); the smaller half before."""
    out = output_size(size, kernel, stride, "same", dilation)
    assert out == math.ceil(size / stride)
    (top, bottom), (left, right) = resolve_padding("same", (size, size), kernel, stride, dilation)
    assert (top, bottom) == (left, right)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    assert (top, bottom) == (total // 2, total - total // 2)
    if stride == 1:  # torch's own "same" keeps the size
        got = torch_out_hw((size, 1), (kernel, 1), 1, "same", (dilation, 1))
        assert got[0] == out == size


def test_output_size_examples():
    assert output_size(7, 3, stride=2, padding="same") == 4
    assert output_size((6, 6), 3) == (4, 4)
    assert output_size([6, 9], (3, 2), stride=(1, 2)) == (4, 4)
    assert output_size((7, 8), 3, stride=2, padding="same") == (4, 4)
    assert output_size(5, 3, padding="valid") == 3
    assert output_size(8, 3, stride=2) == 3  # floor((8 - 3) / 2) + 1


def test_resolve_padding_forms():
    assert resolve_padding("valid", (5, 5), 3) == ((0, 0), (0, 0))
    assert resolve_padding(" Same ", (5, 5), 3) == ((1, 1), (1, 1))
    assert resolve_padding("same", (5, 6), 2) == ((0, 1), (0, 1))  # odd pixel after
    assert resolve_padding("same", (7, 7), 3, stride=2) == ((1, 1), (1, 1))
    assert resolve_padding("same", (8, 8), 3, stride=2) == ((0, 1), (0, 1))
    assert resolve_padding(2, (5, 5), 3) == ((2, 2), (2, 2))
    assert resolve_padding((1, 2), (5, 5), 3) == ((1, 1), (2, 2))
    assert resolve_padding(((0, 1), (2, 3)), (5, 5), 3) == ((0, 1), (2, 3))


@settings(max_examples=100, deadline=None)
@given(case=axis_configs(), extra=st.integers(0, 2))
def test_unread_positions_are_those_with_zero_gradient_in_torch(case, extra):
    """A pixel no window reads gets no gradient from torch's unfold."""
    n, k, s, d, p = case
    before, after = p, p + extra
    x = torch.ones((1, 1, 1, n), dtype=torch.float64, requires_grad=True)
    F.unfold(F.pad(x, (before, after)), (1, k), dilation=(1, d), stride=(1, s)).sum().backward()
    expected = [i for i in range(n) if x.grad[0, 0, 0, i] == 0]
    assert unread_positions(n, k, s, d, before, after) == expected


def test_unread_positions_example():
    # 8 wide, kernel 3, stride 2: windows start at 0, 2, 4; pixel 7 is never read
    assert unread_positions(8, 3, 2, 1, 0, 0) == [7]
    assert unread_positions(7, 3, 2, 1, 1, 1) == []


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((4, 7), {}, "kernel 7×7 does not fit the padded input 4×4"),
        ((4, 7), {"padding": 1}, "kernel 7×7 does not fit the padded input 6×6"),
        (((4, 9), 3), {"dilation": (2, 1)}, "kernel 3×3 (dilated to 5×3) does not fit"),
        ((4, 3), {"stride": 0}, "stride must be at least 1, got 0"),
        ((4, 3), {"dilation": -1}, "dilation must be at least 1, got -1"),
        ((4, 0), {}, "kernel size must be at least 1, got 0"),
        ((0, 3), {}, "input size must be at least 1, got 0"),
        (
            (4, True),
            {},
            "kernel size must be an integer or a pair of integers (height, width), got True",
        ),
        ((4, (1, 2, 3)), {}, "kernel size must be an integer or a pair"),
        ((4, 3), {"padding": "full"}, "unknown padding 'full'"),
        ((4, 3), {"padding": -1}, "padding must be at least 0, got -1"),
        ((4, 3), {"padding": 1.0}, "padding must be an integer or a pair"),
        ((4, 3), {"padding": ((0, -1), (0, 0))}, "padding must be at least 0, got -1"),
    ],
)
def test_geometry_errors_name_the_values(args, kwargs, message):
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        output_size(*args, **kwargs)
