"""One SGD step as stages: ours against torch.optim.SGD on torch's own parameters, computed
here independently with plain torch modules."""

import numpy as np
import pytest
import torch

from convtrace.core.optim import SGD
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing.run import compute_trace
from convtrace.tracing.update import attach_update, update_stage_names


def _stepped(momentum=0.0, decay=0.0, **spec):
    trace = compute_trace(ScenarioSpec(**spec))
    return attach_update(trace, SGD(0.1, momentum, decay))


def _torch_worked_example(lr, momentum, decay):
    """The worked example with an average pool (max pooling of its integers has exact ties,
    which torch may break differently) and target 1 (with 0 its loss is saturated), built and
    stepped in torch alone: (new params, loss
    before, loss after)."""
    torch.manual_seed(42)
    x = torch.randint(1, 10, (1, 1, 6, 6)).float()
    w = torch.randint(-1, 2, (2, 1, 3, 3)).float()
    conv = torch.nn.Conv2d(1, 2, 3)  # (after the draws: building it uses the generator)
    fc = torch.nn.Linear(8, 1)
    with torch.no_grad():
        conv.weight.copy_(w)
        conv.bias.fill_(1)
        fc.weight.fill_(1)
        fc.bias.fill_(1)
    params = [conv.weight, conv.bias, fc.weight, fc.bias]
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=decay)

    def loss():
        z = fc(torch.nn.functional.avg_pool2d(conv(x), 2).flatten(1))
        return torch.nn.functional.binary_cross_entropy_with_logits(z, torch.ones(1, 1))

    before = loss()
    before.backward()
    opt.step()
    names = ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
    return (
        {n: p.detach().numpy() for n, p in zip(names, params, strict=True)},
        float(before.detach()),
        float(loss().detach()),
    )


@pytest.mark.parametrize("momentum, decay", [(0.0, 0.0), (0.9, 0.01)])
def test_worked_example_step_is_torchs(momentum, decay):
    trace = _stepped(momentum, decay, pool="avg", target=np.ones((1, 1), np.float32))
    new, before, after = _torch_worked_example(0.1, momentum, decay)
    for name, value in new.items():
        stage = trace[f"update.{name}"]
        np.testing.assert_allclose(stage.values, value, rtol=1e-6, atol=1e-6)
        assert stage.agrees(trace.tolerance)
    assert trace["update.loss"].agrees(trace.tolerance)
    np.testing.assert_allclose(float(trace["update.loss"].values), after, rtol=1e-5, atol=1e-6)
    assert f"{before:.4g} →" in trace["update.loss"].formula
    names = [s.name for s in trace if s.name.startswith(("update.", "momentum."))]
    assert names == update_stage_names(trace.layers, momentum)
    assert not trace.failures()


def test_a_wrong_step_shows_red(monkeypatch):
    """A sign slip in our rule (W + η·g) disagrees with torch.optim.SGD's step."""
    monkeypatch.setattr(SGD, "step", lambda self, name, w, g: w + self.lr * np.asarray(g, w.dtype))
    trace = _stepped()
    assert "update.conv.weight" in [s.name for s in trace.failures()]
    assert trace["update.loss"].agrees(trace.tolerance) is False


def test_no_lr_no_update_stages():
    trace = compute_trace(ScenarioSpec())
    assert not any(s.name.startswith("update.") for s in trace)


def test_layers_are_left_as_they_ran():
    """explain reads the trace's layers: the step must not change their parameters."""
    trace = compute_trace(ScenarioSpec())
    before = {n: np.copy(v) for n, v in trace.layer("conv").params.items()}
    attach_update(trace, SGD(0.1))
    for name, value in trace.layer("conv").params.items():
        np.testing.assert_array_equal(value, before[name])
