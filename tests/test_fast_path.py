"""The fast im2col path's own promises, against torch: the batch-wide column matrix, work arrays
reused between calls without leaking into earlier results, and no silent float64.

(Forward and gradient values on random configurations are covered in test_conv.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convtrace import Conv2D
from convtrace.core.im2col import col2im_matrix, im2col_matrix

# (x shape, filters, kernel, stride, padding, dilation): odd "same" pads, dilation, tall kernel
CONFIGS = [
    ((2, 3, 7, 6), 4, (3, 2), (2, 1), "same", (1, 2)),
    ((3, 2, 5, 5), 2, 3, 1, (2, 1), 1),
    ((1, 1, 4, 9), 3, (1, 4), (1, 3), "valid", 1),
]


def torch_reference(x, layer, dout):
    """Output and the three gradients from torch on x padded as the layer did."""
    (pt, pb), (pl, pr) = layer.pads
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.weight.astype(x.dtype), requires_grad=True)
    bt = torch.tensor(layer.bias.astype(x.dtype), requires_grad=True)
    padded = F.pad(xt, (pl, pr, pt, pb))
    out = F.conv2d(padded, wt, bt, layer.stride, 0, layer.dilation)
    out.backward(torch.tensor(dout))
    cols = F.unfold(padded, layer.kernel_size, dilation=layer.dilation, stride=layer.stride)
    return [t.detach().numpy() for t in (out, wt.grad, xt.grad, bt.grad, cols)]


def make_layer(filters, kernel, stride, padding, dilation):
    return Conv2D(filters, kernel, stride, padding, dilation, seed=0)


@pytest.mark.parametrize(("shape", "filters", "kernel", "stride", "padding", "dilation"), CONFIGS)
def test_col_matrix_is_unfold_with_the_batch_as_columns(
    shape, filters, kernel, stride, padding, dilation
):
    x = np.random.default_rng(0).standard_normal(shape)
    layer = make_layer(filters, kernel, stride, padding, dilation)
    out = layer.forward(x)
    *_, cols = torch_reference(x, layer, np.zeros(out.shape))
    n, k, length = cols.shape
    assert layer.col_matrix.shape == (k, n * length)
    np.testing.assert_array_equal(layer.col_matrix, cols.transpose(1, 0, 2).reshape(k, -1))
    np.testing.assert_array_equal(layer.cols, cols)
    assert layer.cols.flags.c_contiguous


@pytest.mark.parametrize(("shape", "filters", "kernel", "stride", "padding", "dilation"), CONFIGS)
def test_reused_work_arrays_leave_earlier_results_alone(
    shape, filters, kernel, stride, padding, dilation
):
    rng = np.random.default_rng(1)
    x1, x2 = rng.standard_normal(shape), rng.standard_normal(shape)
    layer = make_layer(filters, kernel, stride, padding, dilation)
    out1 = layer.forward(x1)
    cols1, out1_copy = layer.cols, out1.copy()
    g1 = rng.standard_normal(out1.shape)
    dw1, dx1 = layer.backward(g1)
    dw1_copy, dx1_copy, db1_copy = dw1.copy(), dx1.copy(), layer.grad_bias.copy()

    out2 = layer.forward(x2)  # same shapes: every work array is reused
    g2 = rng.standard_normal(out2.shape)
    dw2, dx2 = layer.backward(g2)
    want_out2, want_dw2, want_dx2, want_db2, want_cols2 = torch_reference(x2, layer, g2)
    for got, want in ((out2, want_out2), (dw2, want_dw2), (dx2, want_dx2)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.grad_bias, want_db2, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(layer.cols, want_cols2)

    # what the first pass returned (or showed) did not change
    np.testing.assert_array_equal(out1, out1_copy)
    np.testing.assert_array_equal(dw1, dw1_copy)
    np.testing.assert_array_equal(dx1, dx1_copy)
    *_, want_cols1 = torch_reference(x1, layer, g1)
    np.testing.assert_array_equal(cols1, want_cols1)
    assert not np.array_equal(db1_copy, layer.grad_bias)


def test_a_new_batch_size_between_calls_is_handled():
    rng = np.random.default_rng(2)
    layer = make_layer(3, 3, 1, "same", 1)
    layer.forward(rng.standard_normal((4, 2, 6, 6)))
    x = rng.standard_normal((1, 2, 6, 6))
    out = layer.forward(x)
    g = rng.standard_normal(out.shape)
    dw, dx = layer.backward(g)
    want_out, want_dw, want_dx, _, want_cols = torch_reference(x, layer, g)
    np.testing.assert_allclose(out, want_out, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(layer.cols, want_cols)


def test_float32_stays_float32_in_every_work_array():
    """Default (float64) weights and a float64 dout must not drag the float32 path up."""
    layer = make_layer(4, 3, 2, "same", 1)
    x = np.random.default_rng(3).standard_normal((2, 3, 9, 9)).astype(np.float32)
    out = layer.forward(x)
    layer.backward(np.ones(out.shape))
    assert layer.weight.dtype == np.float64  # the parameters keep their own dtype
    assert layer.col_matrix.dtype == layer.weight_rows.dtype == np.float32
    assert {a.dtype for a in layer._work.values()} == {np.dtype(np.float32)}
    assert {layer.grad_weight.dtype, layer.grad_bias.dtype, out.dtype} == {np.dtype(np.float32)}


@pytest.mark.parametrize(("shape", "filters", "kernel", "stride", "padding", "dilation"), CONFIGS)
def test_col2im_matrix_is_torchs_fold_of_the_same_columns(
    shape, filters, kernel, stride, padding, dilation
):
    x = np.random.default_rng(4).standard_normal(shape)
    layer = make_layer(filters, kernel, stride, padding, dilation)
    out = layer.forward(x)
    k = layer.col_matrix.shape[0]
    n, length = shape[0], out.shape[2] * out.shape[3]
    matrix = np.random.default_rng(5).standard_normal((k, n * length))
    (pt, pb), (pl, pr) = layer.pads
    h, w = shape[2:]
    folded = F.fold(
        torch.tensor(matrix.reshape(k, n, length).transpose(1, 0, 2)),
        (h + pt + pb, w + pl + pr),
        layer.kernel_size,
        dilation=layer.dilation,
        stride=layer.stride,
    )[:, :, pt : pt + h, pl : pl + w]
    args = (layer.kernel_size, layer.stride, layer.pads, layer.dilation, out.shape[2:])
    got = col2im_matrix(matrix, shape, *args)
    np.testing.assert_allclose(got, folded.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(im2col_matrix(x, *args), layer.col_matrix)
