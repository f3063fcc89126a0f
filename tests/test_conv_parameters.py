"""Conv2D's parameters and misuse: default initialisation, dtypes, and every ConvtraceError."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convtrace import Conv2D, ConvtraceError
from tests.test_conv import DTYPES, METHODS, assert_close

# --- parameters: default initialisation and dtypes ------------------------------------------


def test_default_init_uses_torch_bounds_and_happens_at_first_forward():
    layer = Conv2D(8, (3, 2), seed=0)
    assert layer.weight is None and layer.bias is None
    layer.forward(np.zeros((1, 4, 5, 5)))
    fan_in = 4 * 3 * 2
    # torch.nn.Conv2d.reset_parameters: kaiming_uniform_(a=sqrt(5)) for the weight, i.e.
    # bound = sqrt(3) * gain / sqrt(fan_in); U(-1/sqrt(fan_in), +) for the bias.
    gain = torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    weight_bound = math.sqrt(3) * gain / math.sqrt(fan_in)
    assert weight_bound == pytest.approx(1 / math.sqrt(fan_in))
    torch_conv = torch.nn.Conv2d(4, 8, (3, 2))
    assert torch_conv.weight.abs().max().item() <= weight_bound
    assert layer.weight.shape == (8, 4, 3, 2) and layer.bias.shape == (8,)
    assert np.abs(layer.weight).max() <= weight_bound
    assert np.abs(layer.bias).max() <= 1 / math.sqrt(fan_in)
    # 192 uniform draws reach close to both ends of the interval, so the bound is not smaller
    assert layer.weight.max() > 0.8 * weight_bound and layer.weight.min() < -0.8 * weight_bound
    assert len(np.unique(layer.weight)) == layer.weight.size


def test_default_init_is_reproducible_with_a_seed_and_kept_across_forwards():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
    a, b, c = Conv2D(4, 3, seed=11), Conv2D(4, 3, seed=11), Conv2D(4, 3, seed=12)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.bias, b.bias)
    c.forward(x)
    assert not np.array_equal(a.weight, c.weight)
    weight = a.weight.copy()
    a.forward(x)
    np.testing.assert_array_equal(a.weight, weight)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_follows_the_input_also_with_default_weights(method, dtype):
    layer = Conv2D(2, 3, padding=1, method=method, seed=0)
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 5)).astype(dtype)
    out = layer.forward(x)
    assert out.dtype == dtype
    dw, dx = layer.backward(np.ones(out.shape))  # a float64 dout is cast to the input dtype
    assert dw.dtype == dx.dtype == layer.grad_bias.dtype == dtype
    # against torch with the layer's own (float64) weights rounded to the input dtype
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.weight.astype(dtype), requires_grad=True)
    bt = torch.tensor(layer.bias.astype(dtype), requires_grad=True)
    out_t = F.conv2d(xt, wt, bt, padding=1)
    out_t.backward(torch.ones_like(out_t))
    assert_close(out, out_t, dtype)
    assert_close(dw, wt.grad, dtype)
    assert_close(dx, xt.grad, dtype)
    assert_close(layer.grad_bias, bt.grad, dtype)


# --- errors ---------------------------------------------------------------------------------


def test_channel_mismatch_names_both_shapes():
    layer = Conv2D(2, 3, weight=np.zeros((2, 3, 3, 3)))
    with pytest.raises(ConvtraceError, match="has 2 channels") as info:
        layer.forward(np.zeros((1, 2, 5, 5)))
    assert "(1, 2, 5, 5)" in str(info.value) and "(2, 3, 3, 3)" in str(info.value)


def test_channel_mismatch_after_default_init():
    layer = Conv2D(2, 3, seed=0)
    layer.forward(np.zeros((1, 3, 5, 5)))
    with pytest.raises(ConvtraceError, match=re.escape("(1, 1, 5, 5)")) as info:
        layer.forward(np.zeros((1, 1, 5, 5)))
    assert "(2, 3, 3, 3)" in str(info.value)


@pytest.mark.parametrize(
    ("kernel", "padding", "dilation", "message"),
    [
        (7, "valid", 1, "kernel 7×7 does not fit the padded input 4×4"),
        ((5, 2), 0, 1, "kernel 5×2 does not fit the padded input 4×4"),
        (7, 1, 1, "kernel 7×7 does not fit the padded input 6×6"),
        ((2, 7), (1, 0), 1, "kernel 2×7 does not fit the padded input 6×4"),
        (3, "valid", 2, "kernel 3×3 (dilated to 5×5) does not fit the padded input 4×4"),
    ],
)
@pytest.mark.parametrize("method", METHODS)
def test_kernel_larger_than_padded_input(kernel, padding, dilation, message, method):
    layer = Conv2D(1, kernel, padding=padding, dilation=dilation, method=method, seed=0)
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        layer.forward(np.zeros((1, 1, 4, 4)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stride": 0}, "stride must be at least 1, got 0"),
        ({"stride": -2}, "stride must be at least 1, got -2"),
        ({"stride": (1, 0)}, "stride must be at least 1, got 0"),
        (
            {"stride": 1.5},
            "stride must be an integer or a pair of integers (height, width), got 1.5",
        ),
        ({"dilation": 0}, "dilation must be at least 1, got 0"),
        ({"dilation": (0, 2)}, "dilation must be at least 1, got 0"),
        ({"padding": "full"}, "unknown padding 'full'"),
        ({"padding": -1}, "padding must be at least 0, got -1"),
        ({"padding": (1, -2)}, "padding must be at least 0, got -2"),
        ({"method": "fft"}, "unknown method 'fft'"),
    ],
)
def test_invalid_hyper_parameters(kwargs, message):
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        Conv2D(1, 3, **kwargs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 3), "number of filters must be at least 1, got 0"),
        ((2.0, 3), "number of filters must be an integer, got 2.0"),
        ((1, 0), "kernel size must be at least 1, got 0"),
        ((1, (3, 3, 3)), "kernel size must be an integer or a pair"),
    ],
)
def test_invalid_filters_or_kernel(args, message):
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        Conv2D(*args)


def test_weight_and_bias_of_the_wrong_shape():
    with pytest.raises(ConvtraceError, match=re.escape("(2, 1, 3, 3) does not match 3 filters")):
        Conv2D(3, 3, weight=np.zeros((2, 1, 3, 3)))
    with pytest.raises(ConvtraceError, match=re.escape("of size 2×3")):
        Conv2D(2, (2, 3), weight=np.zeros((2, 1, 3, 3)))
    with pytest.raises(ConvtraceError, match=re.escape("must have shape (2,), got (3,)")):
        Conv2D(2, 3, bias=np.zeros(3))


@pytest.mark.parametrize("shape", [(3, 5, 5), (5, 5), (1, 1, 1, 5, 5)])
def test_input_that_is_not_4d(shape):
    message = f"conv input must be 4-D (N, C, H, W), got shape {shape}"
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        Conv2D(1, 3, seed=0).forward(np.zeros(shape))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_non_floating_input(dtype):
    with pytest.raises(ConvtraceError, match=f"floating-point.*got dtype {np.dtype(dtype)}"):
        Conv2D(1, 3, seed=0).forward(np.zeros((1, 1, 5, 5), dtype=dtype))


@pytest.mark.parametrize("method", METHODS)
def test_backward_before_forward(method):
    with pytest.raises(ConvtraceError, match="Conv2D.backward was called before forward"):
        Conv2D(1, 3, method=method, seed=0).backward(np.zeros((1, 1, 3, 3)))


@pytest.mark.parametrize("method", METHODS)
def test_dout_of_the_wrong_shape(method):
    layer = Conv2D(2, 3, method=method, seed=0)
    layer.forward(np.zeros((1, 1, 5, 5)))
    message = "dout of shape (1, 2, 4, 4), but the forward output had shape (1, 2, 3, 3)"
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        layer.backward(np.zeros((1, 2, 4, 4)))
    with pytest.raises(ConvtraceError, match="dout must hold floating-point.*int64"):
        layer.backward(np.zeros((1, 2, 3, 3), dtype=np.int64))
