"""Batch normalisation in `check --api cs231n`: the reference is torch's (F.batch_norm, and
the running statistics checked against torch's own BatchNorm module's update), the large-eps
cases are what reveals eps's place, and each mistake's ✗ stands beside the correct file's ✓."""

import numpy as np
import pytest
import torch

from convtrace.check import batchnorm, cases
from convtrace.check.cases import BN_BATTERY, RTOL, build_case, torch_reference
from convtrace.check.grade import within


@pytest.mark.parametrize("spec", BN_BATTERY, ids=lambda s: s.name)
def test_the_reference_is_torchs(spec):
    case = build_case(spec, "cs231n")
    ref = torch_reference(case)
    x = torch.tensor(case.x)
    rm, rv = (torch.tensor(a.copy()) for a in case.running)
    module = (torch.nn.BatchNorm1d if x.ndim == 2 else torch.nn.BatchNorm2d)(
        x.shape[1], eps=spec.eps, momentum=1 - spec.momentum, dtype=torch.float64
    )
    with torch.no_grad():
        module.weight.copy_(torch.tensor(case.w))
        module.bias.copy_(torch.tensor(case.b))
        module.running_mean.copy_(rm)
        module.running_var.copy_(rv)
    module.train(spec.mode == "train")
    xin = x.clone().requires_grad_(True)
    out = module(xin)
    assert np.allclose(ref["out"], out.detach().numpy(), rtol=1e-12, atol=1e-12)
    if spec.mode == "test":
        assert set(ref) == {"out"}
        return
    out.backward(torch.tensor(case.dout))
    for key, value in (("dX", xin.grad), ("dF", module.weight.grad), ("db", module.bias.grad)):
        assert np.allclose(ref[key], value.numpy(), rtol=1e-12, atol=1e-12), key
    assert np.allclose(ref["running_mean"], module.running_mean.numpy(), rtol=1e-12)
    # torch keeps the unbiased variance; CS231n's contract the biased one (np.var)
    m = x.numel() // x.shape[1]
    old = torch.tensor(case.running[1])
    unbiased_part = (module.running_var - spec.momentum * old) * (m - 1) / m
    assert np.allclose(ref["running_var"], (spec.momentum * old + unbiased_part).numpy())


def _change(spec, divide) -> float:
    case = build_case(spec, "cs231n")
    right = torch_reference(case)["out"]
    wrong = batchnorm._out(case, divide)
    return float(np.max(np.abs(wrong - right))) / max(1.0, float(np.max(np.abs(right))))


def test_a_large_eps_is_what_shows_where_eps_goes():
    """Leaving eps out moves a unit-scale output by a few RTOL at eps = 1e-5, by thousands of
    RTOL at eps = 1e-1: the battery does not rely on the small one."""
    small = [s for s in BN_BATTERY if s.eps == 1e-5]
    large = [s for s in BN_BATTERY if s.eps >= 1e-2]
    assert {s.mode for s in large} == {"train", "test"} and {s.kind for s in large} == {"bn", "sbn"}
    assert max(_change(s, np.sqrt) for s in small) < 100 * RTOL
    assert min(_change(s, np.sqrt) for s in large) > 1000 * RTOL


def test_each_variant_differs_from_torch_on_every_case_it_claims():
    """A finding is only made from a variant that torch's answer does not equal."""
    for spec in BN_BATTERY:
        case = build_case(spec, "cs231n")
        ref = torch_reference(case)
        for variant in batchnorm._eps_variants(case):
            assert not within(variant, ref["out"]) or spec.eps == 1e-5
        if spec.mode == "train":
            assert not any(within(v, ref["running_var"]) for v in batchnorm._std_running_var(case))
            shared = batchnorm._shared_running(case)
            assert not within(shared["running_mean"], ref["running_mean"])


@pytest.mark.parametrize("spec", cases.AFFINE_BATTERY + BN_BATTERY[:2], ids=lambda s: s.name)
def test_the_affine_and_bn_references_are_torchs_explicit_backward(spec):
    """The references take autograd from Σ out·dout (no sympy import): torch's
    ``out.backward(dout)`` through F.linear / F.batch_norm gives the same numbers."""
    case = build_case(spec, "cs231n")
    ref = torch_reference(case)
    x = torch.tensor(case.x, requires_grad=True)
    w = torch.tensor(case.w, requires_grad=True)
    b = torch.tensor(case.b, requires_grad=True)
    if spec.kind == "affine":
        out = torch.nn.functional.linear(x.reshape(x.shape[0], -1), w.T, b)
    else:
        out = torch.nn.functional.batch_norm(x, None, None, w, b, training=True, eps=spec.eps)
    out.backward(torch.tensor(case.dout))
    for key, value in (("out", out.detach()), ("dX", x.grad), ("dF", w.grad), ("db", b.grad)):
        assert np.allclose(ref[key], value.numpy(), rtol=1e-12, atol=1e-12), key
