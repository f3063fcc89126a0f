"""K steps of SGD against a training loop written here in plain torch (nn.Sequential and
torch.optim.SGD), from the same weights."""

import numpy as np
import pytest
import torch

from convtrace.core.optim import SGD
from convtrace.scenario.build import build_scenario
from convtrace.scenario.toml_file import spec_from_values
from convtrace.tracing.train import batch_indices, train

NET = "conv(4,3) relu maxpool(2) fc(3)"


def _scenario(dtype="float32", **extra):
    values = dict(net=NET, size=8, batch=4, loss="ce", classes=3, seed=3, dtype=dtype)
    return build_scenario(spec_from_values({**values, **extra}, None))


def _torch_losses(s, steps, lr, momentum, batch_size=None):
    dt = {"float32": torch.float32, "float64": torch.float64}[s.dtype]
    conv, fc = torch.nn.Conv2d(1, 4, 3).to(dt), torch.nn.Linear(4 * 3 * 3, 3).to(dt)
    with torch.no_grad():
        for module, name in ((conv, "conv"), (fc, "fc")):
            module.weight.copy_(torch.tensor(s.params[f"{name}.weight"]))
            module.bias.copy_(torch.tensor(s.params[f"{name}.bias"]))
    model = torch.nn.Sequential(conv, torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Flatten(), fc)  # fmt: skip
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    x, y = torch.tensor(s.x), torch.tensor(np.asarray(s.target), dtype=torch.long)
    losses = []
    for k in range(steps):
        idx = torch.arange(len(x)) if batch_size is None else torch.tensor(
            [(k * batch_size + i) % len(x) for i in range(batch_size)])  # fmt: skip
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(losses), conv.weight.detach().numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_losses_follow_torchs_loop(dtype, momentum):
    s = _scenario(dtype)
    run = train(s, SGD(0.05, momentum), 30)
    judge, conv_w = _torch_losses(s, 30, 0.05, momentum)
    tol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(run.losses, judge, rtol=tol, atol=tol)
    np.testing.assert_allclose(run.final["final.conv.weight"].values, conv_w, rtol=tol, atol=tol)
    assert run.losses[-1] < run.losses[0] / 4  # it learns
    assert run.max_loss_diff is not None and run.max_loss_diff < tol
    assert not run.failures()


def test_minibatches_in_a_fixed_order():
    s = _scenario("float64", batch=6)
    run = train(s, SGD(0.05), 7, batch_size=4)
    judge, _ = _torch_losses(s, 7, 0.05, 0.0, batch_size=4)
    np.testing.assert_allclose(run.losses, judge, rtol=1e-10)
    assert list(batch_indices(1, 4, 6)) == [4, 5, 0, 1]


def test_a_wrong_optimizer_is_caught(monkeypatch):
    """Momentum forgotten in our step: torch's loop (with momentum) draws apart and the
    verdict says so."""
    monkeypatch.setattr(SGD, "direction", lambda self, name, w, g: np.asarray(g, w.dtype))
    run = train(_scenario(), SGD(0.05, 0.9), 10)
    assert run.max_loss_diff > 1e-3
    assert {"train.loss", "final.conv.weight"} <= {s.name for s in run.failures()}


def test_every_records_full_traces():
    run = train(_scenario(), SGD(0.05), 5, every=2)
    assert [k for k, _ in run.traces] == [0, 2, 4]
    assert all(not t.failures() and "grad.conv.weight" in t for _, t in run.traces)


def test_ctrl_c_keeps_the_steps_so_far():
    def stop(step):
        if step.step == 2:
            raise KeyboardInterrupt

    run = train(_scenario(), SGD(0.05), 10, on_step=stop)
    assert run.interrupted and len(run.steps) == 3 and run.final is not None
