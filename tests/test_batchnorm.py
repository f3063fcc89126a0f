"""BatchNorm against torch's BatchNorm1d/2d module, train and eval, float32 and float64."""

import numpy as np
import pytest
import torch

from convtrace.core.errors import ParameterError
from convtrace.core.layers import BatchNorm

TOL = {np.float32: 1e-5, np.float64: 1e-11}


def _torch_bn(x, gamma, beta, rm, rv, eps, mode):
    cls = torch.nn.BatchNorm2d if x.ndim == 4 else torch.nn.BatchNorm1d
    dtype = torch.float64 if x.dtype == np.float64 else torch.float32
    bn = cls(x.shape[1], eps=eps).to(dtype)
    with torch.no_grad():
        for name, v in (("weight", gamma), ("bias", beta), ("running_mean", rm),
                        ("running_var", rv)):  # fmt: skip
            getattr(bn, name).copy_(torch.tensor(v, dtype=dtype))
    bn.train(mode == "train")
    xt = torch.tensor(x, requires_grad=True)
    return bn, xt, bn(xt)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (5, 4)])
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_forward_and_backward_match_torch(dtype, mode, shape, eps):
    rng = np.random.default_rng(0)
    c = shape[1]
    x = rng.normal(2.0, 3.0, shape).astype(dtype)
    gamma, beta = rng.normal(size=c).astype(dtype), rng.normal(size=c).astype(dtype)
    rm, rv = rng.normal(size=c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    layer = BatchNorm(c, eps=eps, mode=mode)
    layer.set_params(weight=gamma, bias=beta, running_mean=rm, running_var=rv)
    out = layer.forward(x)
    bn, xt, ref = _torch_bn(x, gamma, beta, rm, rv, eps, mode)
    dout = rng.normal(size=shape).astype(dtype)
    ref.backward(torch.tensor(dout))
    dx = layer.backward(dout)
    tol = TOL[dtype]
    assert out.dtype == dtype and dx.dtype == dtype
    scale = max(1.0, float(np.abs(ref.detach().numpy()).max()))
    assert np.abs(out - ref.detach().numpy()).max() <= tol * scale * 10
    for ours, theirs in ((dx, xt.grad), (layer.grad_weight, bn.weight.grad),
                         (layer.grad_bias, bn.bias.grad)):  # fmt: skip
        theirs = theirs.numpy()
        assert np.abs(ours - theirs).max() <= tol * 10 * max(1.0, np.abs(theirs).max())


def test_a_wrong_backward_is_caught():
    """The comparison above can fail: eval's backward on a train-mode forward differs."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 2)).astype(np.float64)
    layer = BatchNorm(2, mode="train")
    layer.forward(x)
    dout = rng.normal(size=x.shape)
    right = layer.backward(dout)
    layer.mode = "eval"  # only the x̂ path: what a student who forgets μ and σ² writes
    assert np.abs(layer.backward(dout) - right).max() > 1e-3


def test_train_mode_refuses_one_value_per_channel():
    with pytest.raises(ParameterError, match="Expected more than 1 value per channel"):
        BatchNorm.build({"mode": "train"}, (1, 3))
    assert BatchNorm.build({"mode": "eval"}, (1, 3)).channels == 3
    assert BatchNorm.build({"mode": "train"}, (1, 3, 2, 2)).channels == 3


@pytest.mark.parametrize("eps", ["-1", "0", "x", float("nan")])
def test_bad_eps_is_refused(eps):
    with pytest.raises(ParameterError, match="eps"):
        BatchNorm(2, eps=eps)
