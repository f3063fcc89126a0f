"""The bug catalog: with no bug its loops are torch's convolution; every bug is visible on the
battery; the battery's reference is torch's and its shapes are the ones the issue promises."""

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convtrace.check.cases import BATTERY, build_battery, torch_reference
from convtrace.check.catalog import (
    CATALOG,
    BuggyConv2D,
    Variant,
    conv_backward,
    conv_forward,
    variant_pads,
)
from convtrace.check.grade import variant_outputs, within
from convtrace.core.geometry import resolve_padding


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 3),
    size=st.integers(3, 8),
    f=st.integers(1, 3),
    k=st.integers(1, 3),
    s=st.integers(1, 3),
    same=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_the_unbroken_loops_are_torchs_convolution(n, c, size, f, k, s, same, seed):
    rng = np.random.default_rng(seed)
    x, w, b = (
        rng.standard_normal((n, c, size, size)),
        rng.standard_normal((f, c, k, k)),
        rng.standard_normal(f),
    )  # noqa: E501
    pads = resolve_padding("same" if same else "valid", (size, size), k, s)
    out = conv_forward(x, w, b, (s, s), pads)
    dout = rng.standard_normal(out.shape)
    dw, db, dx = conv_backward(x, w, dout, (s, s), pads)
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    (pt, pb), (pl, pr) = pads
    ref = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), wt, bt, stride=s)
    ref.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, ref.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(dw, wt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(db, bt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-10)


def test_the_battery_matches_the_issue():
    cases = {case.name: case for case in build_battery()}
    assert list(cases)[:2] == ["worked", "exercise"]
    worked = cases["worked"]
    assert worked.x.shape == (1, 1, 6, 6) and worked.w.shape == (2, 1, 3, 3)
    assert torch_reference(cases["exercise"])["out"].shape == (10, 8, 4, 4)
    specs = BATTERY
    assert {s.kernel for s in specs} == {1, 2, 3, 5}
    assert any(s.hw[0] != s.hw[1] for s in specs)  # H != W: a height/width mix-up shows
    assert {s.channels for s in specs} == {1, 2, 3, 4} and {s.batch for s in specs} >= {1, 3}
    grid = {(s.stride, s.padding, s.hw[0] % 2) for s in specs}
    assert grid >= {(st_, p, odd) for st_ in (1, 2) for p in ("valid", "same") for odd in (0, 1)}
    assert all(case.x.dtype == np.float64 for case in cases.values())


def test_every_bug_is_visible_on_the_battery():
    cases = build_battery()
    references = [torch_reference(case) for case in cases]
    for bug in CATALOG:
        for variant in bug.variants:
            if variant.reinitialise:
                continue  # needs the student's new weights (tested through the CLI)
            visible = False
            for case, ref in zip(cases, references, strict=True):
                outputs = variant_outputs(case, variant)
                visible |= any(not within(outputs[k], ref[k]) for k in ("out", "dF", "dX", "db"))
            assert visible, (bug.id, variant.name)


def test_same_padding_variants():
    odd_first = Variant("x", pads="odd-first")
    assert variant_pads(odd_first, "same", (8, 8), (3, 3), (2, 2)) == ((1, 0), (1, 0))
    half = Variant("x", pads="half-kernel")
    assert variant_pads(half, "same", (8, 8), (2, 2), (1, 1)) == ((0, 0), (0, 0))
    assert variant_pads(half, "valid", (8, 8), (3, 3), (1, 1)) == ((0, 0), (0, 0))


def test_buggy_layer_has_conv2ds_api():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 1, 5, 5)), rng.standard_normal((2, 1, 3, 3)), np.ones(2)
    layer = BuggyConv2D("dF-dX-swapped", 2, 3, weight=w, bias=b)
    out = layer.forward(x)
    first, second = layer.backward(np.ones_like(out))
    assert first.shape == x.shape and second.shape == w.shape  # the bug: (dX, dW)
    last = BuggyConv2D("channels-last-output", 2, 3, weight=w, bias=b)
    assert last.forward(x).shape == (2, 3, 3, 2) and last.layout_note


def test_the_references_are_autograds():
    """torch_reference calls torch's backward kernels directly (conv, max pool, ReLU): the same
    numbers as autograd (through F.pad and F.conv2d for conv), on every case of both APIs."""
    import torch
    import torch.nn.functional as F

    for api in ("course", "cs231n"):
        for case in build_battery(api):
            x = torch.tensor(case.x, requires_grad=True)
            ref = torch_reference(case)
            if case.spec.kind in ("pool", "relu"):
                if case.spec.kind == "pool":
                    out = F.max_pool2d(x, case.spec.khw, case.spec.stride)
                else:
                    out = torch.relu(x)
                out.backward(torch.tensor(case.dout))
                assert np.array_equal(ref["out"], out.detach().numpy())
                assert np.array_equal(ref["dX"], x.grad.numpy())
                continue
            if case.spec.kind != "conv":
                continue
            w = torch.tensor(case.w, requires_grad=True)
            b = torch.tensor(case.b, requires_grad=True)
            (pt, pb), (pl, pr) = case.pads
            out = F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b, stride=case.stride)
            out.backward(torch.tensor(case.dout))
            for key, value in (("out", out), ("dF", w.grad), ("dX", x.grad), ("db", b.grad)):
                assert np.allclose(ref[key], value.detach().numpy(), rtol=1e-12, atol=1e-12), key
