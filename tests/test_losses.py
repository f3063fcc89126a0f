"""Losses against torch's (mean reduction): the value, and d loss / d prediction via autograd."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convtrace import BCEWithLogitsLoss, ConvtraceError, CrossEntropyLoss, MSELoss

DTYPES = (np.float32, np.float64)


def tolerance(dtype) -> float:
    return 1e-9 if np.dtype(dtype) == np.float64 else 1e-4


def check_against_torch(loss, torch_loss, pred: np.ndarray, target, torch_target) -> None:
    """Value and gradient of our loss vs torch's on the same prediction, in pred's dtype."""
    value = loss.forward(pred, target)
    grad = loss.backward()
    pt = torch.tensor(pred, requires_grad=True)
    expected = torch_loss(pt, torch_target)
    expected.backward()
    tol = tolerance(pred.dtype)
    assert isinstance(value, float) and np.isfinite(value)
    assert value == pytest.approx(expected.item(), rel=tol, abs=tol)
    assert grad.shape == pred.shape and grad.dtype == pred.dtype
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, pt.grad.numpy(), rtol=tol, atol=tol)


logit_scale = st.sampled_from([0.1, 1.0, 10.0, 1000.0])


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 3)),
    scale=logit_scale,
    dtype=st.sampled_from(DTYPES),
    hard_targets=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_bce_with_logits_matches_torch(shape, scale, dtype, hard_targets, seed):
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal(shape) * scale).astype(dtype)
    y = rng.integers(0, 2, shape) if hard_targets else rng.random(shape)
    y = y.astype(dtype)
    check_against_torch(
        BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits, z, y, torch.tensor(y)
    )


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 3)),
    scale=logit_scale,
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_mse_matches_torch(shape, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    pred = (rng.standard_normal(shape) * scale).astype(dtype)
    target = rng.standard_normal(shape).astype(dtype)
    check_against_torch(MSELoss(), F.mse_loss, pred, target, torch.tensor(target))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 5),
    classes=st.integers(1, 5),
    scale=logit_scale,
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_cross_entropy_matches_torch(n, classes, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((n, classes)) * scale).astype(dtype)
    y = rng.integers(0, classes, n)
    check_against_torch(CrossEntropyLoss(), F.cross_entropy, z, y, torch.tensor(y))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_extreme_logits_is_finite_and_correct(dtype):
    z = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0], [1000.0], [0.0]], dtype=dtype)
    y = np.array([[0.0], [1.0], [1.0], [0.0], [0.5], [1.0]], dtype=dtype)
    check_against_torch(
        BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits, z, y, torch.tensor(y)
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_with_extreme_logits_is_finite_and_correct(dtype):
    z = np.array(
        [
            [1000.0, -1000.0, 0.0],
            [-1000.0, 1000.0, 0.0],
            [1000.0, 1000.0, -1000.0],
            [-1000.0, -1000.0, -1000.0],
        ],
        dtype=dtype,
    )
    y = np.array([1, 1, 0, 2])
    check_against_torch(CrossEntropyLoss(), F.cross_entropy, z, y, torch.tensor(y))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_with_extreme_predictions(dtype):
    pred = np.array([[1000.0, -1000.0], [0.5, 2.0]], dtype=dtype)
    target = np.array([[0.0, 1.0], [0.5, -2.0]], dtype=dtype)
    check_against_torch(MSELoss(), F.mse_loss, pred, target, torch.tensor(target))


def test_cross_entropy_accepts_whole_float_class_indices():
    z = np.random.default_rng(0).standard_normal((3, 4))
    y = np.array([0, 3, 1])
    assert CrossEntropyLoss().forward(z, y.astype(float)) == pytest.approx(
        F.cross_entropy(torch.tensor(z), torch.tensor(y)).item(), rel=1e-12
    )


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", [BCEWithLogitsLoss, MSELoss, CrossEntropyLoss])
def test_backward_before_forward(loss):
    with pytest.raises(ConvtraceError, match=f"{loss.__name__}.backward was called before forward"):
        loss().backward()


@pytest.mark.parametrize("loss", [BCEWithLogitsLoss, MSELoss])
def test_elementwise_loss_shape_and_dtype_errors(loss):
    name = loss.__name__
    message = f"{name} target of shape (3,) does not match the prediction's shape (3, 1)"
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        loss().forward(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ConvtraceError, match=f"{name} target must be real numbers, got dtype bool"):
        loss().forward(np.zeros((2, 1)), np.zeros((2, 1), dtype=bool))
    with pytest.raises(ConvtraceError, match="must be real numbers, got dtype complex128"):
        loss().forward(np.zeros((2, 1)), np.zeros((2, 1), dtype=complex))
    with pytest.raises(ConvtraceError, match=f"{name} prediction must hold floating-point.*int64"):
        loss().forward(np.zeros((2, 1), dtype=np.int64), np.zeros((2, 1)))


def test_cross_entropy_errors():
    z = np.zeros((3, 4))
    message = "class indices of shape (3,), got shape (3, 1)"
    with pytest.raises(ConvtraceError, match=re.escape(message)):
        CrossEntropyLoss().forward(z, np.zeros((3, 1), dtype=int))
    with pytest.raises(ConvtraceError, match="targets must be whole class indices"):
        CrossEntropyLoss().forward(z, np.array([0.0, 1.5, 2.0]))
    with pytest.raises(ConvtraceError, match=re.escape("class indices 0..3, got [0, 4, 1]")):
        CrossEntropyLoss().forward(z, np.array([0, 4, 1]))
    with pytest.raises(ConvtraceError, match=re.escape("class indices 0..3, got [-1, 0, 1]")):
        CrossEntropyLoss().forward(z, np.array([-1, 0, 1]))
    with pytest.raises(ConvtraceError, match=re.escape("logits must be 2-D (N, features)")):
        CrossEntropyLoss().forward(np.zeros(4), np.array([0]))
