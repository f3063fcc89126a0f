"""Flatten, ReLU and Linear against torch (torch.flatten, torch.relu, F.linear + autograd)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convtrace import ConvtraceError, Flatten, Linear, ReLU

DTYPES = (np.float32, np.float64)


def assert_close(actual, expected, dtype) -> None:
    tol = 1e-9 if np.dtype(dtype) == np.float64 else 1e-4
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 4),
    features=st.tuples(st.integers(1, 8), st.integers(1, 5)),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_linear_matches_torch(n, features, dtype, seed):
    in_f, out_f = features
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, in_f)).astype(dtype)
    weight = rng.standard_normal((out_f, in_f)).astype(dtype)
    bias = rng.standard_normal(out_f).astype(dtype)
    dz = rng.standard_normal((n, out_f)).astype(dtype)

    layer = Linear(in_f, out_f, weight=weight, bias=bias)
    z = layer.forward(x)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, weight, bias))
    zt = F.linear(xt, wt, bt)
    zt.backward(torch.tensor(dz))

    assert z.shape == (n, out_f) and z.dtype == dtype
    assert_close(z, zt, dtype)
    dw, dx = layer.backward(dz)
    for got, want in ((dw, wt.grad), (dx, xt.grad), (layer.grad_bias, bt.grad)):
        assert got.shape == tuple(want.shape) and got.dtype == dtype
        assert_close(got, want, dtype)
    np.testing.assert_array_equal(layer.grad_weight, dw)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_default_init_torch_bounds_seed_and_dtype(dtype):
    layer = Linear(50, 4, seed=3)
    bound = 1 / math.sqrt(50)  # torch.nn.Linear.reset_parameters, as for Conv2d
    gain = torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    assert math.sqrt(3) * gain / math.sqrt(50) == pytest.approx(bound)
    assert layer.weight.shape == (4, 50) and layer.bias.shape == (4,)
    assert np.abs(layer.weight).max() <= bound and np.abs(layer.bias).max() <= bound
    assert layer.weight.max() > 0.8 * bound and layer.weight.min() < -0.8 * bound
    np.testing.assert_array_equal(layer.weight, Linear(50, 4, seed=3).weight)
    np.testing.assert_array_equal(layer.bias, Linear(50, 4, seed=3).bias)
    assert not np.array_equal(layer.weight, Linear(50, 4, seed=4).weight)

    x = np.random.default_rng(0).standard_normal((2, 50)).astype(dtype)
    z = layer.forward(x)
    dw, dx = layer.backward(np.ones((2, 4)))  # float64 dz is cast to the input dtype
    assert z.dtype == dw.dtype == dx.dtype == layer.grad_bias.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_flatten_matches_torch(dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 4, 5)).astype(dtype)
    layer = Flatten()
    out = layer.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.flatten(xt, 1)
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    dout = rng.standard_normal(out.shape).astype(dtype)
    out_t.backward(torch.tensor(dout))
    dx = layer.backward(dout)
    assert dx.shape == x.shape and dx.dtype == dtype
    np.testing.assert_array_equal(dx, xt.grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_matches_torch_including_gradient_zero_at_zero(dtype):
    rng = np.random.default_rng(2)
    x = rng.integers(-2, 3, size=(2, 3, 4, 4)).astype(dtype)  # many exact zeros
    x[0, 0, 0, :3] = (0.0, -0.0, 1e-30)
    assert (x == 0).sum() > 5
    layer = ReLU()
    out = layer.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.relu(xt)
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    assert out.dtype == dtype
    dout = rng.standard_normal(x.shape).astype(dtype)
    out_t.backward(torch.tensor(dout))
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dx, xt.grad.numpy())
    assert np.all(dx[x == 0] == 0) and dx.dtype == dtype


# --- errors ---------------------------------------------------------------------------------


def test_linear_parameter_errors():
    with pytest.raises(ConvtraceError, match=re.escape("(out, in) = (3, 2), got (2, 3)")):
        Linear(2, 3, weight=np.zeros((2, 3)))
    with pytest.raises(ConvtraceError, match=re.escape("must have shape (3,), got (2,)")):
        Linear(2, 3, bias=np.zeros(2))
    with pytest.raises(ConvtraceError, match=re.escape("Linear weight must be 2-D")):
        Linear(2, 3, weight=np.zeros(6))
    with pytest.raises(ConvtraceError, match="in_features must be at least 1, got 0"):
        Linear(0, 3)
    with pytest.raises(ConvtraceError, match="out_features must be an integer, got '3'"):
        Linear(2, "3")


def test_linear_input_errors():
    layer = Linear(4, 2, seed=0)
    message = "Linear expects 4 input features but got shape (2, 5)"
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        layer.forward(np.zeros((2, 5)))
    with pytest.raises(ConvtraceError, match=re.escape("Linear input must be 2-D (N, features)")):
        layer.forward(np.zeros((2, 2, 2)))
    with pytest.raises(ConvtraceError, match="Linear input must hold floating-point.*int64"):
        layer.forward(np.zeros((2, 4), dtype=np.int64))


def test_linear_backward_errors():
    layer = Linear(4, 2, seed=0)
    with pytest.raises(ConvtraceError, match="Linear.backward was called before forward"):
        layer.backward(np.zeros((1, 2)))
    layer.forward(np.zeros((3, 4)))
    message = "Linear.backward got dout of shape (3, 4), but the forward output had shape (3, 2)"
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        layer.backward(np.zeros((3, 4)))


def test_flatten_errors():
    with pytest.raises(ConvtraceError, match=re.escape("needs a batch axis, got shape (5,)")):
        Flatten().forward(np.zeros(5))
    with pytest.raises(ConvtraceError, match="Flatten.backward was called before forward"):
        Flatten().backward(np.zeros((1, 4)))
    layer = Flatten()
    layer.forward(np.zeros((2, 1, 2, 2)))
    message = "Flatten.backward got dout of shape (2, 3), but the forward output had shape (2, 4)"
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        layer.backward(np.zeros((2, 3)))


def test_relu_errors():
    with pytest.raises(ConvtraceError, match="ReLU.backward was called before forward"):
        ReLU().backward(np.zeros(3))
    layer = ReLU()
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ConvtraceError, match=re.escape("got dout of shape (3, 2)")):
        layer.backward(np.zeros((3, 2)))
    with pytest.raises(ConvtraceError, match="ReLU input must hold floating-point.*int64"):
        ReLU().forward(np.array([1, -1]))
