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


# ------------------------------------------------------------------ through the CLI
import json  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

from convtrace.cli.main import app  # noqa: E402

NET = ["--net", "conv(4,3) bn relu maxpool(2) fc(3)", "--batch", "4", "--size", "8", "--loss",
       "ce", "--classes", "3"]  # fmt: skip


def _run(*args):
    return CliRunner().invoke(app, ["run", *NET, *args, "--json"])


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_done_when_network_agrees_with_torch_on_every_stage(mode, dtype):
    result = _run("--bn-mode", mode, "--dtype", dtype)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    stages = {s["name"]: s for s in doc["stages"]}
    for name in ("bn.mean", "bn.var", "bn.xhat", "bn.weight", "bn.bias", "bn.out",
                 "grad.bn.weight", "grad.bn.bias", "grad.conv.out"):  # fmt: skip
        assert stages[name]["reference"] is not None and stages[name]["agrees"], name
    assert all(s["agrees"] for s in doc["stages"] if s["reference"] is not None)
    assert doc["scenario"]["bn_mode"] == mode
    updated = [stages.get(f"bn.updated_{what}") for what in ("mean", "var")]
    if mode == "train":  # torch's module updated its buffers: ours are the same numbers
        assert all(s["reference"] is not None and s["agrees"] for s in updated)
    else:
        assert updated == [None, None]
    assert stages["bn.weight"]["values"] == [1, 1, 1, 1]  # seeded defaults γ = 1, β = 0
    assert stages["bn.bias"]["values"] == [0, 0, 0, 0]
    if mode == "eval":  # the running statistics' defaults, 0 and 1
        assert stages["bn.mean"]["values"] == [0, 0, 0, 0]
        assert stages["bn.var"]["values"] == [1, 1, 1, 1]


def test_a_wrong_bn_backward_shows_red(monkeypatch):
    """The same run prints ✗ when bn's backward forgets the paths through μ and σ²."""

    def only_xhat(self, dout):
        x, _mean, _var, inv, _xhat, gamma = self._cache
        self.grads = {"weight": (dout * _xhat).sum(axis=(0, 2, 3)), "bias": dout.sum((0, 2, 3))}
        self.grad_weight, self.grad_bias = self.grads["weight"], self.grads["bias"]
        return dout * gamma.reshape(1, -1, 1, 1) * inv.reshape(1, -1, 1, 1)

    monkeypatch.setattr(BatchNorm, "backward", only_xhat)
    result = _run()
    assert result.exit_code == 1
    failing = [s["name"] for s in json.loads(result.stdout)["stages"] if s["agrees"] is False]
    assert "grad.conv.out" in failing


def test_explain_writes_the_three_contributions_that_add_up_to_torchs_value():
    result = CliRunner().invoke(app, ["explain", "grad.conv.out[0,1,2,2]", *NET, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    wheres = [t["where"] for t in doc["terms"]]
    assert [w.split(":")[0].strip() for w in wheres] == ["through x̂", "through σ²", "through μ"]
    assert doc["agrees"] == {"trace": True, "torch": True}
    assert abs(sum(t["product"] for t in doc["terms"]) - doc["reference"]) < 1e-6


def test_explain_of_bn_out_uses_the_batchs_numbers():
    result = CliRunner().invoke(app, ["explain", "bn.out[1,2,3,0]", *NET, "--json"])
    doc = json.loads(result.stdout)
    assert doc["agrees"] == {"trace": True, "torch": True}
    assert doc["details"]["count"] == 4 * 6 * 6
    assert "μ[c] = " in doc["formula"] and "σ²[c] = " in doc["formula"]


def test_explain_is_recomputed_not_read_from_the_trace(monkeypatch):
    """With a wrong backward in the trace, the three paths (recomputed) disagree with it."""
    right = BatchNorm.backward
    monkeypatch.setattr(BatchNorm, "backward", lambda self, d: 2 * right(self, d))
    result = CliRunner().invoke(app, ["explain", "grad.conv.out[0,1,2,2]", *NET, "--json"])
    assert json.loads(result.stdout)["agrees"]["trace"] is False


def test_running_statistics_from_a_state_dict_by_position(tmp_path):
    """An nn.Sequential's state dict (with num_batches_tracked) feeds eval mode."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4),
                                torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(36, 3))  # fmt: skip
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
        model[1].weight.uniform_(0.5, 2)
    path = tmp_path / "w.pt"
    torch.save(model.state_dict(), path)
    result = _run("--bn-mode", "eval", "--weights", str(path))
    assert result.exit_code == 0, result.output
    stages = {s["name"]: s for s in json.loads(result.stdout)["stages"]}
    np.testing.assert_allclose(stages["bn.mean"]["values"], model[1].running_mean.numpy(),
                               rtol=1e-6)  # fmt: skip
    x = torch.tensor(np.asarray(stages["input"]["values"], np.float32))
    model.eval()
    np.testing.assert_allclose(stages["fc.out"]["values"], model(x).detach().numpy(), atol=1e-4)


def test_a_batch_of_one_after_fc_is_refused_with_torchs_reason():
    result = CliRunner().invoke(app, ["run", "--net", "conv(2,3) fc(4) bn relu fc(2)"])
    assert result.exit_code == 2
    line = result.output.strip()
    assert "\n" not in line and "Expected more than 1 value per channel when training" in line
    eval_run = CliRunner().invoke(app, ["run", "--net", "conv(2,3) fc(4) bn relu fc(2)",
                                        "--bn-mode", "eval", "--json"])  # fmt: skip
    assert eval_run.exit_code == 0, eval_run.output


def test_bn_mode_is_saved_and_replayed(tmp_path):
    first = _run("--bn-mode", "eval", "--save-scenario", str(tmp_path / "s"))
    assert 'bn_mode = "eval"' in (tmp_path / "s" / "scenario.toml").read_text()
    again = CliRunner().invoke(app, ["run", "--scenario", str(tmp_path / "s" / "scenario.toml"),
                                     "--json"])  # fmt: skip
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["stages"] == json.loads(first.stdout)["stages"]


def test_an_unknown_bn_mode_is_refused():
    result = CliRunner().invoke(app, ["run", *NET, "--bn-mode", "test"])
    assert result.exit_code == 2 and "--bn-mode must be one of train, eval" in result.output


def test_a_running_variance_updated_with_the_std_shows_red(monkeypatch):
    """CS231n's classic: running_var updated with σ instead of σ² (unbiased) is ✗."""
    records = BatchNorm.records

    def with_std(self, x, out):
        recs = records(self, x, out)
        for rec in recs:
            if rec.suffix == "updated_var":
                var = self._cache[2]
                rec.values = 0.9 * self.running_var + 0.1 * np.sqrt(var)
        return recs

    monkeypatch.setattr(BatchNorm, "records", with_std)
    result = _run()
    assert result.exit_code == 1
    failing = [s["name"] for s in json.loads(result.stdout)["stages"] if s["agrees"] is False]
    assert "bn.updated_var" in failing and "bn.out" not in failing and "bn.var" not in failing
