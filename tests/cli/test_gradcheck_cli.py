"""--gradcheck on run and backward (issue 12, item 8)."""

from __future__ import annotations

import json


def test_run_gradcheck_names_the_fourth_witness(invoke):
    result = invoke("run", "--gradcheck", "--pool", "avg", "--loss", "mse")
    assert result.exit_code == 0, result.output
    assert "loop = im2col = torch = numeric" in result.stdout
    assert "numeric error" in result.stdout


def test_backward_gradcheck_and_json_block(invoke):
    result = invoke("backward", "--gradcheck", "--json", "--only", "grad.fc.*")
    assert result.exit_code == 0
    stages = {s["name"]: s for s in json.loads(result.stdout)["stages"]}
    block = stages["grad.fc.weight"]["numeric"]
    assert block["agrees"] is True and block["of"] == 8 and block["checked"] + block["kinks"] == 8
    assert "numeric" not in stages["grad.fc.out"]


def test_without_gradcheck_nothing_changes(invoke):
    assert "numeric" not in invoke("run", "--only", "grad.*").stdout
