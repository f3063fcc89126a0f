"""explain 'update.<layer>.<part>[…]': the step written as its terms, checked against the trace
and torch; a wrong step is caught by the sum."""

import json

import numpy as np

from convtrace.core.optim import SGD


def _doc(result):
    return json.loads(result.stdout)


def test_update_cell_is_w_minus_eta_g(invoke_cli):
    doc = _doc(invoke_cli("explain", "update.conv.weight[0,0,1,1]", "--lr", "0.1",
                          "--weight-decay", "0.01", "--json"))  # fmt: skip
    run = {s["name"]: s for s in _doc(invoke_cli("run", "--json"))["stages"]}
    w = np.array(run["conv.weight"]["values"])[0, 0, 1, 1]
    g = np.array(run["grad.conv.weight"]["values"])[0, 0, 1, 1]
    assert doc["term_count"] == 3
    assert abs(doc["value"] - (w - 0.1 * g - 0.1 * 0.01 * w)) < 1e-6
    assert doc["agrees"] == {"trace": True, "torch": True}


def test_a_wrong_step_disagrees_with_its_sum(invoke_cli, monkeypatch):
    monkeypatch.setattr(
        SGD, "step", lambda self, name, w, g: w - 2 * self.lr * np.asarray(g, w.dtype)
    )
    result = invoke_cli("explain", "update.fc.weight[0,3]", "--lr", "0.1")
    assert result.exit_code == 1 and "✗" in result.output


def test_update_cell_needs_lr(invoke_cli):
    result = invoke_cli("explain", "update.conv.bias[0]")
    assert result.exit_code == 2 and "--lr" in result.output
