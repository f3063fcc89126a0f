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


# ------------------------------------------------------------------ through the CLI
import json  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

from convtrace.cli.main import app  # noqa: E402
from convtrace.tracing import equivalence  # noqa: E402

NET = ["--net", "conv(2,3,stride=2) convT(1,3,stride=2,output_padding=1)", "--size", "8",
       "--loss", "mse"]  # fmt: skip


def invoke(*args):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("method", ["both", "loop", "im2col"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_done_when_network_agrees_with_torch_on_every_stage(method, dtype):
    result = invoke("run", *NET, "--method", method, "--dtype", dtype, "--batch", "2", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    stages = {s["name"]: s for s in doc["stages"]}
    assert stages["convt.out"]["shape"] == [2, 1, 8, 8]  # back to the input's size
    for name in ("convt.weight", "convt.bias", "convt.out", "grad.convt.weight",
                 "grad.convt.bias", "grad.conv.out"):  # fmt: skip
        assert stages[name]["reference"] is not None and stages[name]["agrees"], name
    assert all(s["agrees"] for s in doc["stages"] if s["reference"] is not None)


def test_explain_lists_every_pair_landing_on_the_cell():
    result = invoke("explain", "convt.out[0,0,3,4]", *NET, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["agrees"] == {"trace": True, "torch": True}
    # judge: for stride 2, kernel 3, padding 0 the pairs (i, u) with 2i + u = 3 are (0,3)✗,
    # (1,1); for 2j + v = 4: (1,2), (2,0); 2 channels → 2 · 1 · 2 = 4 terms
    pairs = {(t["meta"]["input"][0], t["meta"]["offset"][0], t["meta"]["input"][1],
              t["meta"]["offset"][1]) for t in doc["terms"]}  # fmt: skip
    assert pairs == {(1, 1, 1, 2), (1, 1, 2, 0)} and len(doc["terms"]) == 4


@pytest.mark.parametrize("cell", ["grad.convt.weight[1,0,2,1]", "grad.convt.bias[0]",
                                  "grad.conv.out[0,1,1,1]", "convt.out[0,0,7,7]"])  # fmt: skip
def test_explain_of_every_convt_sum_agrees_with_torch(cell):
    doc = json.loads(invoke("explain", cell, *NET, "--json").stdout)
    assert doc["agrees"] == {"trace": True, "torch": True}, cell


def test_the_equivalence_panel_shows_equal_numbers():
    result = invoke("run", *NET, "--convt", "--only", "grad.input", "--color", "never")
    assert result.exit_code == 0, result.output
    assert "grad.input = convT(grad.conv.out)" in result.output
    assert "output_padding=(1, 1)" in result.output
    assert "✓ convT(∂L/∂H) vs the trace's grad.input: max |Δ| 0" in result.output
    assert "✓ torch's F.conv_transpose2d of ∂L/∂H vs ours" in result.output
    assert "loop = convT = torch convT = im2col = torch" in result.output


@pytest.mark.parametrize(
    "net",
    [
        "conv(2,4,padding=same,stride=2) fc(1)",
        "conv(3,3,dilation=2,padding=1) relu conv(2,2,stride=2) fc(2)",
    ],
)
def test_the_equivalence_holds_for_asymmetric_padding_and_dilation(net):
    result = invoke("run", "--net", net, "--size", "9", "--batch", "2", "--channels", "2",
                    "--convt", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_wrong_transposed_convolution_shows_red(monkeypatch):
    """The same panel says ✗ when the transposed convolution flips the kernel."""

    def flipped(dh, weight, *rest):
        return scatter_loop(dh, weight[:, :, ::-1, ::-1], *rest)

    from convtrace.core.layers.conv_transpose import scatter_loop

    monkeypatch.setattr(equivalence, "scatter_loop", flipped)
    result = invoke("run", *NET, "--convt", "--only", "grad.input", "--color", "never")
    assert result.exit_code == 1
    assert "✗ convT(∂L/∂H) vs the trace's grad.input" in result.output


def test_convt_needs_a_conv():
    result = invoke("run", "--net", "convT(1,3) fc(1)", "--convt")
    assert result.exit_code == 2 and "has no conv" in result.output


def test_ce_needs_an_fc_at_the_end():
    result = invoke("run", "--net", "conv(2,3) convT(1,3)", "--loss", "ce")
    assert result.exit_code == 2 and "must end with fc(classes)" in result.output


@pytest.mark.parametrize(
    "size,k,s,p,op,d",
    [(3, 3, 2, 0, 1, 1), (4, 4, 2, 1, 0, 1), (5, 3, 3, 2, 2, 1), (2, 3, 1, 0, 1, 2)],
)
def test_shapes_transposed_matches_torchs_output_size(size, k, s, p, op, d):
    result = invoke("shapes", "--transposed", "--size", str(size), "--kernel", str(k),
                    "--stride", str(s), "--padding", str(p), "--output-padding", str(op),
                    "--dilation", str(d), "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    m = torch.nn.ConvTranspose2d(1, 1, k, s, p, op, dilation=d)
    expected = m(torch.zeros(1, 1, size, size)).shape[2]
    assert [a["out"] for a in json.loads(result.stdout)["axes"]] == [expected, expected]


def test_shapes_output_padding_needs_transposed():
    result = invoke("shapes", "--output-padding", "1")
    assert result.exit_code == 2 and "--transposed" in result.output
