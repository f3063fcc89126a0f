"""Conv2D against torch: both methods, every padding kind, forward and all three gradients.

torch is the reference: every expected number below comes from ``torch.nn.functional``
(autograd for the gradients), never from convtrace's own output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convtrace import Conv2D

METHODS = ("loop", "im2col")
DTYPES = (np.float32, np.float64)


def assert_close(actual, expected, dtype) -> None:
    """float64 to 1e-9, float32 to 1e-4 (relative and absolute: values are of order 1)."""
    tol = 1e-9 if np.dtype(dtype) == np.float64 else 1e-4
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


def same_pads_1d(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """The "same" rule, written out independently of convtrace.core.geometry.

    out = ceil(size / stride); total = max((out-1)*s + d*(k-1)+1 - size, 0); smaller half first.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def as_pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


@dataclass
class ConvCase:
    x: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    stride: int | tuple[int, int]
    padding: str | int | tuple[int, int]
    dilation: int | tuple[int, int]
    seed: int

    @property
    def dtype(self):
        return self.x.dtype

    @property
    def kernel(self) -> tuple[int, int]:
        return self.weight.shape[2], self.weight.shape[3]

    def layer(self, method: str) -> Conv2D:
        return Conv2D(
            self.weight.shape[0],
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            weight=self.weight,
            bias=self.bias,
            method=method,
        )

    def expected_pads(self):
        """((top, bottom), (left, right)) from the spec, not from convtrace."""
        if self.padding == "valid":
            return (0, 0), (0, 0)
        if self.padding == "same":
            (h, w), (kh, kw) = self.x.shape[2:], self.kernel
            (sh, sw), (dh, dw) = as_pair(self.stride), as_pair(self.dilation)
            return same_pads_1d(h, kh, sh, dh), same_pads_1d(w, kw, sw, dw)
        ph, pw = as_pair(self.padding)
        return (ph, ph), (pw, pw)


def torch_conv(case: ConvCase, dout: np.ndarray | None = None, padding_arg=None):
    """Forward (and backward with ``dout``) in torch. Returns tensors x, w, b, out, padded x.

    For "same" the input is padded explicitly with F.pad(x, (left, right, top, bottom)), since
    torch refuses padding="same" for stride > 1; ``padding_arg`` overrides this (e.g. "same").
    """
    x = torch.tensor(case.x, requires_grad=True)
    w = torch.tensor(case.weight, requires_grad=True)
    b = torch.tensor(case.bias, requires_grad=True)
    (pt, pb), (pl, pr) = case.expected_pads()
    padded = F.pad(x, (pl, pr, pt, pb))
    if padding_arg is not None:
        out = F.conv2d(x, w, b, case.stride, padding_arg, case.dilation)
    elif case.padding in ("valid", "same"):
        out = F.conv2d(padded, w, b, case.stride, 0, case.dilation)
    else:
        out = F.conv2d(x, w, b, case.stride, case.padding, case.dilation)  # torch's own padding
    if dout is not None:
        out.backward(torch.tensor(dout))
    return x, w, b, out, padded


int_or_pair = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))


@st.composite
def conv_cases(draw, paddings=("valid", "same", "int", "pair"), stride=int_or_pair):
    dtype = draw(st.sampled_from(DTYPES))
    n, c, f = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(stride)
    dilation = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    kind = draw(st.sampled_from(paddings))
    if kind == "int":
        padding = draw(st.integers(0, 2))
    elif kind == "pair":
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    else:
        padding = kind
    # Filter to configurations where the dilated kernel fits the padded input ("same" always
    # fits): draw each size from the smallest that fits up to 9, which keeps the loops fast.
    ph, pw = (0, 0) if isinstance(padding, str) else as_pair(padding)
    (dh, dw) = as_pair(dilation)
    fit_h = 1 if padding == "same" else max(1, dh * (kh - 1) + 1 - 2 * ph)
    fit_w = 1 if padding == "same" else max(1, dw * (kw - 1) + 1 - 2 * pw)
    h, w = draw(st.integers(fit_h, 9)), draw(st.integers(fit_w, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return ConvCase(
        x=rng.standard_normal((n, c, h, w)).astype(dtype),
        weight=rng.standard_normal((f, c, kh, kw)).astype(dtype),
        bias=rng.standard_normal(f).astype(dtype),
        stride=stride,
        padding=padding,
        dilation=dilation,
        seed=seed,
    )


def check_against_torch(case: ConvCase, method: str, padding_arg=None) -> None:
    """Forward, dW, dX, db, dtypes and (im2col) the cached cols / weight_rows vs torch."""
    layer = case.layer(method)
    out = layer.forward(case.x)
    assert layer.pads == case.expected_pads()
    dout = np.random.default_rng(case.seed + 1).standard_normal(out.shape).astype(case.dtype)
    x, w, b, out_t, padded = torch_conv(case, dout, padding_arg)

    assert out.shape == tuple(out_t.shape)
    assert out.dtype == case.dtype
    assert_close(out, out_t, case.dtype)

    dw, dx = layer.backward(dout)
    for got, want in ((dw, w.grad), (dx, x.grad), (layer.grad_bias, b.grad)):
        assert got.shape == tuple(want.shape)
        assert got.dtype == case.dtype
        assert_close(got, want, case.dtype)
    np.testing.assert_array_equal(layer.grad_weight, dw)

    if method == "im2col":
        cols = F.unfold(padded, case.kernel, dilation=case.dilation, stride=case.stride)
        np.testing.assert_array_equal(layer.cols, cols.detach().numpy())
        np.testing.assert_array_equal(layer.weight_rows, case.weight.reshape(len(case.bias), -1))


@settings(max_examples=100, deadline=None)
@given(case=conv_cases())
def test_both_methods_match_torch_on_random_configurations(case):
    for method in METHODS:
        check_against_torch(case, method)


# torch warns that it copies the input to pad it asymmetrically: those are the cases we want.
@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@settings(max_examples=60, deadline=None)
@given(case=conv_cases(paddings=("same",), stride=st.just(1)))
def test_same_at_stride_1_matches_torchs_own_same_padding(case):
    for method in METHODS:
        check_against_torch(case, method, padding_arg="same")


@settings(max_examples=100, deadline=None)
@given(case=conv_cases(paddings=("same",)))
def test_same_padding_keeps_ceil_of_input_over_stride(case):
    """Output = ceil(in / stride) and total padding = max((out-1)*s + d*(k-1)+1 - in, 0)."""
    layer = case.layer("im2col")
    out = layer.forward(case.x)
    for axis in (0, 1):
        size, k = case.x.shape[2 + axis], case.kernel[axis]
        s, d = as_pair(case.stride)[axis], as_pair(case.dilation)[axis]
        assert out.shape[2 + axis] == math.ceil(size / s)
        before, after = layer.pads[axis]
        assert before + after == max((out.shape[2 + axis] - 1) * s + d * (k - 1) + 1 - size, 0)
        assert after - before in (0, 1)  # the odd pixel goes bottom / right


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_course_exercise(method, dtype):
    """Batch 10, 4 channels, 7×7, 8 filters 3×3, stride 2, "same" -> (10, 8, 4, 4)."""
    rng = np.random.default_rng(2024)
    case = ConvCase(
        x=rng.standard_normal((10, 4, 7, 7)).astype(dtype),
        weight=rng.standard_normal((8, 4, 3, 3)).astype(dtype),
        bias=rng.standard_normal(8).astype(dtype),
        stride=2,
        padding="same",
        dilation=1,
        seed=7,
    )
    layer = case.layer(method)
    out = layer.forward(case.x)
    assert out.shape == (10, 8, 4, 4)
    assert layer.pads == ((1, 1), (1, 1))
    dout = rng.standard_normal(out.shape).astype(dtype)
    x, w, b, out_t, _ = torch_conv(case, dout)  # F.pad(x, (1, 1, 1, 1)), then padding 0
    assert_close(out, out_t, dtype)
    dw, dx = layer.backward(dout)
    assert dw.shape == (8, 4, 3, 3) and dx.shape == (10, 4, 7, 7)
    assert_close(dw, w.grad, dtype)
    assert_close(dx, x.grad, dtype)
    assert_close(layer.grad_bias, b.grad, dtype)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(2, 3, 6, 5), (1, 3, 6, 5), (2, 1, 6, 5), (1, 1, 6, 5)])
def test_results_survive_a_second_pass_of_the_same_layer(method, shape):
    """What forward/backward returned must not change when the layer runs again (no reused
    work array leaks out, also when N or C is 1 and a transposed view counts as contiguous),
    and the second pass must be right too."""
    rng = np.random.default_rng(5)
    weight, bias = rng.standard_normal((2, shape[1], 3, 2)), rng.standard_normal(2)
    cases = [
        ConvCase(rng.standard_normal(shape), weight, bias, (2, 1), "same", 1, seed)
        for seed in (1, 2)
    ]
    layer = cases[0].layer(method)
    kept = []
    for case in cases:
        out = layer.forward(case.x)
        cols = None if method == "loop" else layer.cols
        dout = np.random.default_rng(case.seed).standard_normal(out.shape)
        dw, dx = layer.backward(dout)
        kept.append((case, dout, out, cols, dw, dx, layer.grad_bias))
    for case, dout, out, cols, dw, dx, db in kept:
        x, w, b, out_t, padded = torch_conv(case, dout)
        for got, want in ((out, out_t), (dw, w.grad), (dx, x.grad), (db, b.grad)):
            assert_close(got, want, np.float64)
        if cols is not None:
            unfolded = F.unfold(padded, case.kernel, stride=case.stride)
            np.testing.assert_array_equal(cols, unfolded.detach().numpy())


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


@pytest.mark.parametrize("method", METHODS)
def test_gradients_match_central_differences(method):
    """dW, dX, db of L = sum(out * G) against central differences, float64."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 5, 6))
    weight = rng.standard_normal((3, 2, 2, 3))
    bias = rng.standard_normal(3)
    config = {"stride": (2, 1), "padding": "same", "dilation": (1, 2), "method": method}

    def loss(x, weight, bias):
        return float(np.sum(Conv2D(3, (2, 3), **config, weight=weight, bias=bias).forward(x) * g))

    layer = Conv2D(3, (2, 3), **config, weight=weight, bias=bias)
    g = rng.standard_normal(layer.forward(x).shape)
    dw, dx = layer.backward(g)

    def numeric(which: int, eps: float = 1e-5) -> np.ndarray:
        args = [x.copy(), weight.copy(), bias.copy()]
        grad = np.zeros_like(args[which])
        for idx in np.ndindex(grad.shape):
            original = args[which][idx]
            args[which][idx] = original + eps
            up = loss(*args)
            args[which][idx] = original - eps
            down = loss(*args)
            args[which][idx] = original
            grad[idx] = (up - down) / (2 * eps)
        return grad

    assert relative_error(dx, numeric(0)) < 1e-7
    assert relative_error(dw, numeric(1)) < 1e-7
    assert relative_error(layer.grad_bias, numeric(2)) < 1e-7
