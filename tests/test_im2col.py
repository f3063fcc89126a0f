"""im2col / col2im against torch's F.unfold / F.fold: same layout, same sums over overlaps."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convtrace import ConvtraceError, col2im, im2col


def as_pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def same_pads_1d(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """The "same" rule, written out independently of convtrace.core.geometry."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


int_or_pair = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))


@st.composite
def unfold_cases(draw):
    """x, kernel, stride, padding, dilation and ((top, bottom), (left, right)) from the spec."""
    kernel = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    stride = draw(int_or_pair)
    dilation = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    kind = draw(st.sampled_from(["valid", "same", "int", "pair", "explicit"]))
    if kind == "int":
        padding = draw(st.integers(0, 2))
        pads = ((padding, padding), (padding, padding))
    elif kind == "pair":
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        pads = ((padding[0], padding[0]), (padding[1], padding[1]))
    elif kind == "explicit":
        pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
        padding = pads
    else:
        padding, pads = kind, ((0, 0), (0, 0))
    (kh, kw), (dh, dw) = as_pair(kernel), as_pair(dilation)
    # only configurations where the dilated kernel fits the padded input ("same" always fits)
    fit_h = 1 if kind == "same" else max(1, dh * (kh - 1) + 1 - sum(pads[0]))
    fit_w = 1 if kind == "same" else max(1, dw * (kw - 1) + 1 - sum(pads[1]))
    h, w = draw(st.integers(fit_h, 9)), draw(st.integers(fit_w, 9))
    if kind == "same":
        sh, sw = as_pair(stride)
        pads = (same_pads_1d(h, kh, sh, dh), same_pads_1d(w, kw, sw, dw))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    return x, kernel, stride, padding, dilation, pads, rng


def torch_unfold(x: np.ndarray, kernel, stride, dilation, pads) -> torch.Tensor:
    (pt, pb), (pl, pr) = pads
    padded = F.pad(torch.tensor(x), (pl, pr, pt, pb))
    return F.unfold(padded, as_pair(kernel), dilation=dilation, padding=0, stride=stride)


def torch_fold(cols: np.ndarray, hw, kernel, stride, dilation, pads) -> torch.Tensor:
    """F.fold only pads symmetrically: fold onto the padded image, then crop the padding."""
    (pt, pb), (pl, pr) = pads
    padded_hw = (hw[0] + pt + pb, hw[1] + pl + pr)
    folded = F.fold(torch.tensor(cols), padded_hw, as_pair(kernel), dilation, 0, stride)
    return folded[:, :, pt : pt + hw[0], pl : pl + hw[1]]


@settings(max_examples=100, deadline=None)
@given(case=unfold_cases())
def test_im2col_is_torch_unfold(case):
    x, kernel, stride, padding, dilation, pads, _ = case
    cols = im2col(x, kernel, stride, padding, dilation)
    expected = torch_unfold(x, kernel, stride, dilation, pads).numpy()
    assert cols.dtype == x.dtype
    np.testing.assert_array_equal(cols, expected)  # pure copies: exactly equal


@settings(max_examples=100, deadline=None)
@given(case=unfold_cases())
def test_col2im_is_torch_fold(case):
    x, kernel, stride, padding, dilation, pads, rng = case
    shape = torch_unfold(x, kernel, stride, dilation, pads).shape
    cols = rng.standard_normal(tuple(shape)).astype(x.dtype)
    image = col2im(cols, x.shape[2:], kernel, stride, padding, dilation)
    expected = torch_fold(cols, x.shape[2:], kernel, stride, dilation, pads).numpy()
    assert image.shape == x.shape and image.dtype == x.dtype
    tol = 1e-12 if x.dtype == np.float64 else 1e-5  # only the order of the sums can differ
    np.testing.assert_allclose(image, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("padding", [1, (0, 2)])
def test_torchs_own_padding_argument_agrees(padding):
    """With symmetric padding torch's unfold/fold pad by themselves: no F.pad involved."""
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 7))
    cols = im2col(x, (2, 3), (2, 1), padding, (2, 1))
    expected = F.unfold(torch.tensor(x), (2, 3), (2, 1), padding, (2, 1))
    np.testing.assert_array_equal(cols, expected.numpy())
    back = col2im(cols, (6, 7), (2, 3), (2, 1), padding, (2, 1))
    expected = F.fold(expected, (6, 7), (2, 3), (2, 1), padding, (2, 1))
    np.testing.assert_allclose(back, expected.numpy(), rtol=1e-12, atol=1e-12)


def test_overlapping_windows_accumulate_in_col2im():
    # 3×3 windows at stride 1 on 4×4: the centre pixels are read by all four windows
    ones = np.ones((1, 9, 4))
    image = col2im(ones, (4, 4), 3)
    expected = F.fold(torch.tensor(ones), (4, 4), 3)
    np.testing.assert_array_equal(image, expected.numpy())
    assert image[0, 0, 1, 1] == 4 and image[0, 0, 0, 0] == 1


# --- errors ---------------------------------------------------------------------------------


def test_im2col_input_must_be_4d():
    with pytest.raises(ConvtraceError, match=re.escape("im2col input must be 4-D (N, C, H, W)")):
        im2col(np.zeros((3, 4, 4)), 2)


def test_im2col_kernel_must_fit():
    message = "kernel 3×3 (dilated to 5×5) does not fit the padded input 4×4"
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        im2col(np.zeros((1, 1, 4, 4)), 3, dilation=2)


def test_col2im_input_must_be_3d():
    message = "col2im input must be 3-D (N, C*kh*kw, L), got shape (9, 4)"
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        col2im(np.zeros((9, 4)), (4, 4), 3)


@pytest.mark.parametrize("shape", [(1, 9, 5), (1, 8, 4)])
def test_col2im_shape_must_match_kernel_and_positions(shape):
    message = f"col2im input of shape {shape} does not match kernel 3×3 and 2×2 = 4"
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        col2im(np.zeros(shape), (4, 4), 3)
