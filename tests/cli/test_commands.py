"""End-to-end runs of run, forward, backward and shapes through Typer's CliRunner."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.test_pipeline import DEFAULT_ORDER


def _doc(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_run_json_document_structure(invoke):
    doc = _doc(invoke("run", "--json"))
    assert set(doc) >= {"scenario", "stages"}
    assert doc["scenario"]["seed"] == 42 and doc["scenario"]["input_shape"] == [1, 1, 6, 6]
    assert [s["name"] for s in doc["stages"]] == DEFAULT_ORDER
    for stage in doc["stages"]:
        assert {"name", "title", "shape", "values", "reference", "max_abs_diff", "formula"} <= set(
            stage
        )
        assert np.shape(stage["values"]) == tuple(stage["shape"])
        assert np.shape(stage["reference"]) == tuple(stage["shape"])
        assert stage["agrees"] is True


def test_default_run_numbers_are_torchs(invoke):
    """Loss, dW and db of the worked example, computed here with torch."""
    torch.manual_seed(42)
    x = torch.randint(1, 10, (1, 1, 6, 6)).float()
    w = torch.randint(-1, 2, (2, 1, 3, 3)).float().requires_grad_(True)
    b = torch.ones(2, requires_grad=True)
    fc_w = torch.ones(1, 8, requires_grad=True)
    z = F.linear(F.max_pool2d(F.conv2d(x, w, b), 2).flatten(1), fc_w, torch.ones(1))
    loss = F.binary_cross_entropy_with_logits(z, torch.zeros(1, 1))
    loss.backward()
    stages = {s["name"]: s for s in _doc(invoke("run", "--json"))["stages"]}
    assert stages["loss"]["values"] == pytest.approx(loss.item())
    np.testing.assert_allclose(stages["grad.conv.weight"]["values"], w.grad.numpy())
    np.testing.assert_allclose(stages["grad.conv.bias"]["values"], b.grad.numpy())
    np.testing.assert_allclose(stages["grad.fc.weight"]["values"], fc_w.grad.numpy())


def test_forward_has_no_gradients_and_backward_has_them(invoke):
    names = [s["name"] for s in _doc(invoke("forward", "--json"))["stages"]]
    assert names[-1] == "loss" and not any(n.startswith("grad.") for n in names)
    names = [s["name"] for s in _doc(invoke("backward", "--json"))["stages"]]
    assert names == DEFAULT_ORDER


def test_no_compare_torch_computes_no_reference(invoke):
    doc = _doc(invoke("run", "--json", "--no-compare-torch", "--method", "im2col"))
    assert all(s["reference"] is None and s["max_abs_diff"] is None for s in doc["stages"])


def test_only_filters_stages_and_reports_unknown_patterns(invoke):
    doc = _doc(invoke("run", "--json", "--only", "grad.conv.*"))
    assert [s["name"] for s in doc["stages"]] == [
        "grad.conv.out",
        "grad.conv.weight",
        "grad.conv.bias",
        "grad.conv.cols",
    ]
    result = invoke("run", "--only", "nothing.*")
    assert result.exit_code == 2 and "no stage matches" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--batch", 2, "--channels", 3, "--size", 7, "--filters", 3],
        ["--height", 8, "--width", 6, "--kernel", 2, "--stride", 2, "--padding", "same"],
        ["--padding", 1, "--dilation", 2, "--pool", "avg", "--pool-size", 3, "--pool-stride", 1],
        ["--pool", "none", "--activation", "relu", "--loss", "mse", "--dtype", "float64"],
        ["--loss", "ce", "--classes", 4, "--method", "loop"],
        ["--padding", "1,0", "--method", "im2col", "--seed", 3],
    ],
)
def test_scenario_flags_change_the_network_and_everything_agrees(invoke, args):
    doc = _doc(invoke("run", "--json", *args))
    assert all(s["agrees"] is not False for s in doc["stages"])
    assert doc["scenario"]["input_shape"] != [1, 1, 6, 6] or len(args) > 2


def test_flags_reach_the_scenario(invoke):
    s = _doc(
        invoke(
            "run",
            "--json",
            "--size",
            7,
            "--stride",
            2,
            "--padding",
            "same",
            "--dtype",
            "float64",
            "--pool",
            "avg",
        )
    )["scenario"]
    assert s["input_shape"] == [1, 1, 7, 7] and s["stride"] == [2, 2]
    assert s["pads"] == [[1, 1], [1, 1]] and s["dtype"] == "float64" and s["pool"] == "avg"


def test_rendered_run_shows_every_stage_and_a_closing_table(invoke):
    result = invoke("run")
    assert result.exit_code == 0, result.output
    for name in DEFAULT_ORDER:
        assert name in result.stdout
    assert "✓" in result.stdout and "✗" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 100


def test_backward_summarises_forward_in_one_line_each(invoke):
    result = invoke("backward")
    assert result.exit_code == 0, result.output
    full = invoke("run")
    assert len(result.stdout.splitlines()) < len(full.stdout.splitlines())
    assert "grad.input" in result.stdout


def test_precision_changes_the_printed_decimals(invoke):
    # the default example is all whole numbers; cross-entropy's gradients are not
    short = invoke("run", "--loss", "ce", "--only", "grad.fc.out", "--precision", 2).stdout
    long = invoke("run", "--loss", "ce", "--only", "grad.fc.out", "--precision", 7).stdout
    assert short != long and "4.5e-05" in short and "4.539776e-05" in long


def test_step_is_ignored_without_a_terminal(invoke):
    result = invoke("run", "--step", input="")
    assert result.exit_code == 0, result.output


def test_a_disagreeing_stage_exits_1_and_is_shown(invoke, monkeypatch):
    from convtrace.core.layers import Dense

    original = Dense.backward

    def doubled(self, dz):  # a wrong weight gradient, as a student's slip would give
        dx = original(self, dz)
        self.grad_weight = self.grad_weight * 2
        return dx

    monkeypatch.setattr(Dense, "backward", doubled)
    result = invoke("run")
    assert result.exit_code == 1
    assert "✗" in result.stdout and "grad.fc.weight" in result.stdout
    assert invoke("run", "--json").exit_code == 1


def test_bad_input_is_one_line_and_exit_2(invoke):
    result = invoke("run", "--kernel", 9)
    assert result.exit_code == 2
    assert "Error: kernel 9×9 does not fit the padded input 6×6" in result.output
    assert "Traceback" not in result.output


def test_shapes_arithmetic_and_unread_rows(invoke):
    doc = _doc(
        invoke("shapes", "--size", 7, "--kernel", 3, "--stride", 2, "--padding", "same", "--json")
    )
    h = doc["axes"][0]
    assert (h["pad_before"], h["pad_after"], h["out"]) == (1, 1, 4) and h["unread"] == []
    doc = _doc(invoke("shapes", "--size", 8, "--kernel", 3, "--stride", 2, "--json"))
    assert doc["axes"][0]["out"] == 3 and doc["axes"][0]["unread"] == [7]
    doc = _doc(
        invoke("shapes", "--height", 9, "--width", 10, "--kernel", 3, "--dilation", 2, "--json")
    )
    assert [a["out"] for a in doc["axes"]] == [5, 6]
    text = invoke("shapes", "--size", 8, "--kernel", 3, "--stride", 2)
    assert text.exit_code == 0 and "never read" in text.stdout and "7" in text.stdout


def test_help_lists_every_command_with_examples(invoke):
    result = invoke("--help")
    for command in ("run", "forward", "backward", "shapes"):
        assert command in result.stdout
    assert "Examples" in invoke("run", "--help").stdout


def test_importing_the_cli_does_not_import_torch():
    code = "import sys, convtrace.cli.main; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_python_dash_m_works():
    result = subprocess.run(
        [sys.executable, "-m", "convtrace", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "run" in result.stdout


def test_step_shows_one_stage_per_screen_on_a_terminal(invoke, monkeypatch):
    import convtrace.render.stepper as stepper

    keys = iter(["\r"] * 10)
    import convtrace.cli.show as show

    monkeypatch.setattr(show, "_can_step", lambda: True)
    monkeypatch.setattr(stepper, "read_terminal_key", lambda: next(keys))
    result = invoke("forward", "--step", "--only", "conv.*")
    assert result.exit_code == 0, result.output
    # one footer per conv stage (conv.weight, conv.bias, conv.cols, conv.weight_rows, conv.out)
    assert result.stdout.count("Enter/→/space next") == 5
    assert "stage 5/5 · conv.out" in result.stdout


def test_help_of_every_command_never_imports_torch():
    code = (
        "import sys\n"
        "from convtrace.cli.main import app\n"
        "for args in (['--help'], ['run', '--help'], ['explain', '--help'],\n"
        "             ['shapes', '--help']):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "sys.exit(3 if 'torch' in sys.modules else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
