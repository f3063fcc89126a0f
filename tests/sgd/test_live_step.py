"""The live view's `u`: one SGD step, the stages recomputed in place, the loss before → after;
the numbers judged by a torch loop written here (momentum carried across presses)."""

import asyncio

import numpy as np
import torch

from convtrace.core.optim import SGD
from convtrace.live.app import LiveApp, screen_text
from convtrace.live.keys import KEYS, footer_text
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing.run import compute_trace

SPEC = dict(pool="avg", dtype="float64", target=np.ones((1, 1)))


def _drive(app, keys):
    async def main():
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            for key in keys:
                await pilot.press(key)
            await pilot.pause()
            return screen_text(app)

    return asyncio.run(main())


def _torch_losses(steps, lr, momentum):
    """The worked example (avg pool, target 1) trained in torch alone: the loss at each step."""
    torch.manual_seed(42)
    x = torch.randint(1, 10, (1, 1, 6, 6)).double()
    w = torch.randint(-1, 2, (2, 1, 3, 3)).double().requires_grad_(True)
    b = torch.ones(2, dtype=torch.float64, requires_grad=True)
    fw = torch.ones(1, 8, dtype=torch.float64, requires_grad=True)
    fb = torch.ones(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w, b, fw, fb], lr=lr, momentum=momentum)
    losses = []
    for _ in range(steps + 1):
        h = torch.nn.functional.avg_pool2d(torch.nn.functional.conv2d(x, w, b), 2)
        z = h.flatten(1) @ fw.T + fb
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.ones(1, 1).double())
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return losses


def test_u_steps_and_the_loss_follows_torch():
    sgd = SGD(0.001, 0.9)
    app = LiveApp(compute_trace(ScenarioSpec(**SPEC), sgd=sgd), sgd=sgd)
    text = _drive(app, ["u", "u"])
    judge = _torch_losses(3, 0.001, 0.9)
    np.testing.assert_allclose(float(app.trace["loss"].values), judge[2], rtol=1e-9)
    np.testing.assert_allclose(float(app.trace["update.loss"].values), judge[3], rtol=1e-9)
    assert app.steps_taken == 2 and not app.trace.failures()
    assert f"SGD step 2: loss {judge[1]:.4g} → {judge[2]:.4g}" in text


def test_u_without_lr_says_how():
    trace = compute_trace(ScenarioSpec())
    app = LiveApp(trace)
    text = _drive(app, ["u"])
    assert app.trace is trace and "--lr" in text


def test_u_is_in_the_footer_and_the_help():
    assert any(keys == "u" for keys, _what, _press in KEYS)
    assert "u SGD" in footer_text(100, in_grid=True).plain
    from convtrace.live.keys import HELP

    assert "u                one SGD step" in HELP


def test_an_update_cell_is_explained_beside_the_grid():
    sgd = SGD(0.1)
    trace = compute_trace(ScenarioSpec(), sgd=sgd)
    app = LiveApp(trace, sgd=sgd)
    text = _drive(app, ["j"] * trace.names.index("update.conv.weight"))
    assert app.stage.name == "update.conv.weight"
    assert "−η·∂L/∂W[0,0,0,0]" in text and "equals the trace" in text
