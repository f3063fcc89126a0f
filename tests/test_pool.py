"""MaxPool2D and AvgPool2D against torch's max_pool2d / avg_pool2d, forward and backward.

Inputs are integer-valued (drawn from a tiny range), so windows are full of ties, and strides are
often smaller than the kernel, so windows overlap: max pooling must pick the *first* maximum in
row-major window order, as torch's CPU kernel does, or the gradients land on other pixels.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import event, given, settings
from hypothesis import strategies as st

from convtrace import AvgPool2D, ConvtraceError, MaxPool2D

DTYPES = (np.float32, np.float64)
POOLS = (MaxPool2D, AvgPool2D)


def assert_close(actual, expected, dtype) -> None:
    tol = 1e-9 if np.dtype(dtype) == np.float64 else 1e-4
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


def as_pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


@st.composite
def pool_cases(draw):
    """(x, kernel, stride, dout seed): integer-valued x, stride None (= kernel), int or pair."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kernel = kh if kh == kw and draw(st.booleans()) else (kh, kw)
    style = draw(st.sampled_from(["default", "int", "pair", "overlapping"]))
    if style == "default":
        stride = None
    elif style == "int":
        stride = draw(st.integers(1, 3))
    elif style == "pair":
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    else:  # smaller than the kernel (unless it is 1): windows overlap
        stride = (draw(st.integers(1, max(kh - 1, 1))), draw(st.integers(1, max(kw - 1, 1))))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(kh, 9)), draw(st.integers(kw, 9))  # the window must fit
    high = draw(st.integers(1, 3))  # values 0..high-1: ties everywhere, all equal when high=1
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, high, size=(n, c, h, w)).astype(dtype)
    return x, kernel, stride, seed


def torch_pool(kind, x: np.ndarray, kernel, stride, dout: np.ndarray):
    xt = torch.tensor(x, requires_grad=True)
    if kind is MaxPool2D:
        out, indices = F.max_pool2d(xt, kernel, stride, return_indices=True)
    else:
        out, indices = F.avg_pool2d(xt, kernel, stride), None
    out.backward(torch.tensor(dout))
    return out, xt.grad, indices


def flat_indices(argmax: np.ndarray, width: int, kernel, stride) -> np.ndarray:
    """Our window-local argmax u*kw + v -> torch's flat input index row*W + col."""
    kw, (sh, sw) = as_pair(kernel)[1], as_pair(stride)
    i = np.arange(argmax.shape[2])[:, None]
    j = np.arange(argmax.shape[3])[None, :]
    rows = i * sh + argmax // kw
    cols = j * sw + argmax % kw
    return rows * width + cols


@pytest.mark.parametrize("kind", POOLS)
@settings(max_examples=80, deadline=None)
@given(case=pool_cases())
def test_pooling_matches_torch_with_ties_and_overlaps(kind, case):
    x, kernel, stride, seed = case
    layer = kind(kernel, stride)
    out = layer.forward(x)
    dout = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(x.dtype)
    out_t, dx_t, indices = torch_pool(kind, x, kernel, stride, dout)

    assert out.shape == tuple(out_t.shape) and out.dtype == x.dtype
    assert_close(out, out_t, x.dtype)
    dx = layer.backward(dout)
    assert dx.shape == x.shape and dx.dtype == x.dtype
    assert_close(dx, dx_t, x.dtype)

    kh, kw = as_pair(kernel)
    sh, sw = as_pair(kernel if stride is None else stride)
    event(f"overlapping windows: {sh < kh or sw < kw}")
    windows = F.unfold(torch.tensor(x), (kh, kw), stride=(sh, sw))
    np.testing.assert_array_equal(layer.cols, windows.reshape(*x.shape[:2], kh * kw, -1).numpy())
    if kind is MaxPool2D:
        assert layer.argmax.shape == out.shape
        assert layer.argmax.min() >= 0 and layer.argmax.max() < kh * kw
        ties = (layer.cols == layer.cols.max(axis=2, keepdims=True)).sum(axis=2) > 1
        event(f"a window with a tied maximum: {bool(ties.any())}")
        got = flat_indices(layer.argmax, x.shape[3], kernel, (sh, sw))
        np.testing.assert_array_equal(got, indices.numpy())


def test_all_equal_overlapping_windows_send_each_gradient_to_the_first_cell():
    """Every window ties: torch (CPU) and we route each window's gradient to its top-left cell."""
    x = np.ones((1, 1, 4, 5))
    layer = MaxPool2D(3, stride=1)
    out = layer.forward(x)
    np.testing.assert_array_equal(layer.argmax, np.zeros(out.shape, dtype=int))
    dout = np.arange(1.0, out.size + 1).reshape(out.shape)
    out_t, dx_t, indices = torch_pool(MaxPool2D, x, 3, 1, dout)
    np.testing.assert_array_equal(layer.backward(dout), dx_t.numpy())
    np.testing.assert_array_equal(flat_indices(layer.argmax, 5, 3, 1), indices.numpy())


def test_tie_goes_to_the_first_maximum_in_row_major_order():
    # one 2×2 window [[1, 3], [3, 0]]: both 3s tie; row-major first is (0, 1)
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    layer = MaxPool2D(2)
    layer.forward(x)
    _, dx_t, indices = torch_pool(MaxPool2D, x, 2, None, np.ones((1, 1, 1, 1)))
    assert layer.argmax.item() == 1 == indices.item()
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1))), dx_t.numpy())


@pytest.mark.parametrize("kind", POOLS)
def test_stride_defaults_to_the_kernel_size(kind):
    layer = kind((2, 3))
    assert layer.stride == (2, 3)
    assert layer.forward(np.zeros((1, 1, 7, 7))).shape == (1, 1, 3, 2)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize(
    ("kernel", "stride", "size", "message"),
    [
        (3, None, (2, 2), "pool window 3×3 does not fit the input 2×2"),
        ((2, 4), 1, (5, 3), "pool window 2×4 does not fit the input 5×3"),
    ],
)
def test_pool_window_that_does_not_fit(kind, kernel, stride, size, message):
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        kind(kernel, stride).forward(np.zeros((1, 1, *size)))


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize(
    ("kernel", "stride", "message"),
    [
        (0, None, "pool size must be at least 1, got 0"),
        ((2, 0), None, "pool size must be at least 1, got 0"),
        (2, 0, "pool stride must be at least 1, got 0"),
        (2, (1, -1), "pool stride must be at least 1, got -1"),
        (2.5, None, "pool size must be an integer or a pair of integers (height, width), got 2.5"),
    ],
)
def test_invalid_pool_parameters(kind, kernel, stride, message):
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        kind(kernel, stride)


@pytest.mark.parametrize("kind", POOLS)
def test_pool_input_errors(kind):
    name = kind.__name__
    with pytest.raises(ConvtraceError, match=re.escape(f"{name} input must be 4-D (N, C, H, W)")):
        kind(2).forward(np.zeros((4, 4)))
    with pytest.raises(ConvtraceError, match=f"{name} input must hold floating-point.*int64"):
        kind(2).forward(np.zeros((1, 1, 4, 4), dtype=np.int64))


@pytest.mark.parametrize("kind", POOLS)
def test_pool_backward_errors(kind):
    name = kind.__name__
    with pytest.raises(ConvtraceError, match=f"{name}.backward was called before forward"):
        kind(2).backward(np.zeros((1, 1, 2, 2)))
    layer = kind(2)
    layer.forward(np.zeros((1, 1, 4, 4)))
    message = "dout of shape (1, 1, 3, 3), but the forward output had shape (1, 1, 2, 2)"
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        layer.backward(np.zeros((1, 1, 3, 3)))
