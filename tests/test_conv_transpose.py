"""ConvTranspose against torch.nn.ConvTranspose2d: both hand methods, float32 and float64."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from convtrace.core.errors import ParameterError
from convtrace.core.layers import ConvTranspose


def _torch(x, w, b, stride, padding, output_padding, dilation):
    dtype = torch.float64 if x.dtype == np.float64 else torch.float32
    m = torch.nn.ConvTranspose2d(w.shape[0], w.shape[1], w.shape[2:], stride, padding,
                                 output_padding, dilation=dilation).to(dtype)  # fmt: skip
    with torch.no_grad():
        m.weight.copy_(torch.tensor(w))
        m.bias.copy_(torch.tensor(b))
    xt = torch.tensor(x, requires_grad=True)
    return m, xt, m(xt)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2), c=st.integers(1, 3), f=st.integers(1, 3), h=st.integers(1, 5),
    w=st.integers(1, 5), k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2),
    d=st.integers(1, 2), op=st.integers(0, 2), method=st.sampled_from(["im2col", "loop"]),
    dtype=st.sampled_from([np.float32, np.float64]),
)  # fmt: skip
def test_matches_torch(n, c, f, h, w, k, s, p, d, op, method, dtype):
    op = op % max(s, d)
    out_h = (h - 1) * s - 2 * p + d * (k - 1) + op + 1
    out_w = (w - 1) * s - 2 * p + d * (k - 1) + op + 1
    if min(out_h, out_w) < 1:
        return
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, c, h, w)).astype(dtype)
    weight = rng.normal(size=(c, f, k, k)).astype(dtype)
    bias = rng.normal(size=f).astype(dtype)
    layer = ConvTranspose(f, k, s, p, op, d, weight=weight, bias=bias, method=method)
    out = layer.forward(x)
    m, xt, ref = _torch(x, weight, bias, s, p, op, d)
    assert out.shape == tuple(ref.shape) == layer.output_shape(x.shape)
    dout = rng.normal(size=out.shape).astype(dtype)
    ref.backward(torch.tensor(dout))
    dx = layer.backward(dout)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for ours, theirs in ((out, ref.detach()), (dx, xt.grad), (layer.grad_weight, m.weight.grad),
                         (layer.grad_bias, m.bias.grad)):  # fmt: skip
        theirs = theirs.numpy()
        assert ours.dtype == dtype
        assert np.abs(ours - theirs).max() <= tol * max(1.0, np.abs(theirs).max())


def test_a_flipped_kernel_is_caught():
    """The same comparison fails for the classic mistake of flipping the kernel."""
    rng = np.random.default_rng(2)
    x, weight = rng.normal(size=(1, 1, 3, 3)), rng.normal(size=(1, 1, 3, 3))
    bias = np.zeros(1)
    _m, _xt, ref = _torch(x, weight, bias, 2, 0, 0, 1)
    flipped = ConvTranspose(1, 3, 2, weight=weight[:, :, ::-1, ::-1].copy(), bias=bias)
    assert np.abs(flipped.forward(x) - ref.detach().numpy()).max() > 1e-3


def test_output_padding_must_be_below_stride():
    with pytest.raises(ParameterError, match="output_padding"):
        ConvTranspose(1, 3, stride=2, output_padding=2)
