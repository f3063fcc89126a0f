"""--target filling the logits' shape, and explain on a --net network (its own stages, the
loss's derivative written with its numbers): judged by torch, not by our own output."""

import json

import numpy as np
import pytest
import torch

from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing.pipeline import run_pipeline


def _doc(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("args", "target"),
    [
        (["--batch", "2", "--target", "1,0"], [[1.0], [0.0]]),
        (["--net", "fc(4)", "--loss", "mse", "--target", "0.5,-1,2,0"], [[0.5, -1, 2, 0]]),
    ],
)
def test_comma_separated_targets_fill_the_logits_row_by_row(invoke, args, target):
    doc = _doc(invoke("run", "--seed", "42", "--json", "--only", "*", *args))
    stages = {s["name"]: s for s in doc["stages"]}
    z = torch.tensor(stages["fc.out"]["values"], dtype=torch.float64)
    y = torch.tensor(target, dtype=torch.float64)
    fn = torch.nn.MSELoss() if "mse" in args else torch.nn.BCEWithLogitsLoss()
    assert stages["loss"]["values"] == pytest.approx(float(fn(z, y)), rel=1e-5)


def test_a_target_of_the_wrong_count_names_both_shapes(invoke):
    result = invoke("run", "--batch", "2", "--target", "1,0,1")
    assert result.exit_code == 2
    assert "(2, 1) (2 numbers" in result.output and "(3,) (3 numbers)" in result.output


NET = "conv(2,3) maxpool(2) conv(2,1) maxpool(2) fc(1)"


def test_explain_refusals_on_a_net_list_that_networks_stages(invoke):
    result = invoke("explain", "pool2.argmax[0,0,0,0]", "--net", NET)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "pool2.out[n,c,i,j]" in result.output and "grad.conv1.weight" in result.output
    assert "conv.out[n,f,i,j]" not in result.output  # the classroom network's names
    classroom = invoke("explain", "pool.argmax[0,0,0,0]")
    assert "conv.out[n,f,i,j]" in classroom.output  # the classroom still lists its own


def test_a_pool_gradient_after_a_relu_is_written_with_letters(invoke):
    doc = _doc(invoke("explain", "grad.act2.out[0,0,0,0]", "--json", "--scenario",
                      "examples/lenet.toml"))  # fmt: skip
    assert doc["formula"].startswith("∂L/∂A2[n,c,r,q]") and "act2.out" not in doc["formula"]


@pytest.mark.parametrize(
    ("loss", "args", "where"),
    [
        ("bce", ["--batch", "2", "--target", "1,0"], "σ("),
        ("ce", ["--classes", "3"], "softmax("),
        ("mse", ["--batch", "2", "--target", "0.5,-2"], "2("),
    ],
)
def test_explain_writes_the_loss_derivative_with_its_numbers(invoke, loss, args, where):
    spec_args = ["--seed", "7", "--loss", loss, *args]
    for cell in ("grad.fc.out[0,0]", "grad.fc.out[1,0]" if loss != "ce" else "grad.fc.out[0,2]"):
        doc = _doc(invoke("explain", cell, "--json", *spec_args))
        assert doc["term_count"] == 1 and where in doc["terms"][0]["where"]
        # torch's autograd of its own loss on our logits is the judge
        trace = run_pipeline(build_scenario(_spec(loss, args)))
        z = torch.tensor(trace["fc.out"].values, dtype=torch.float64, requires_grad=True)
        target = trace.scenario.target
        if loss == "ce":
            value = torch.nn.CrossEntropyLoss()(z, torch.tensor(target, dtype=torch.long))
        else:
            fn = torch.nn.MSELoss() if loss == "mse" else torch.nn.BCEWithLogitsLoss()
            value = fn(z, torch.tensor(np.asarray(target, np.float64)))
        value.backward()
        expected = float(z.grad[tuple(doc["index"])])
        assert doc["value"] == pytest.approx(expected, rel=1e-5, abs=1e-12)


def _spec(loss, args):
    from convtrace.scenario.files import load_target

    options = dict(seed=7, loss=loss)
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    if "--batch" in pairs:
        options["batch"] = int(pairs["--batch"])
    if "--classes" in pairs:
        options["classes"] = int(pairs["--classes"])
    if "--target" in pairs:
        options["target"] = load_target(pairs["--target"], 10**6)[0]
    return ScenarioSpec(**options)
