"""`run --lr` and `convtrace train` through the real entry point; numbers judged by torch."""

import json

import numpy as np
import pytest
import torch

from convtrace.core.optim import SGD

ISSUE = ["--net", "conv(4,3) relu maxpool(2) fc(3)", "--size", "8", "--batch", "4", "--loss",
         "ce", "--classes", "3", "--steps", "30", "--lr", "0.05", "--seed", "3"]  # fmt: skip


def _stages(result):
    assert result.exit_code == 0, result.output
    return {s["name"]: s for s in json.loads(result.stdout)["stages"]}


def test_run_lr_adds_update_stages_that_agree(invoke_cli):
    stages = _stages(invoke_cli("run", "--seed", "42", "--lr", "0.1", "--json"))
    updates = [n for n in stages if n.startswith("update.")]
    assert updates == ["update.conv.weight", "update.conv.bias", "update.fc.weight",
                       "update.fc.bias", "update.loss"]  # fmt: skip
    assert all(stages[n]["agrees"] for n in updates)
    w, g = np.array(stages["conv.weight"]["values"]), np.array(stages["grad.conv.weight"]["values"])
    np.testing.assert_allclose(stages["update.conv.weight"]["values"], w - 0.1 * g, rtol=1e-6)
    assert stages["update.loss"]["formula"].startswith("loss 18 → ")


def test_default_run_is_unchanged(invoke_cli):
    assert not any(n.startswith("update.") for n in _stages(invoke_cli("run", "--json")))


def test_backward_momentum_shows_the_buffer(invoke_cli):
    result = invoke_cli("backward", "--lr", "0.05", "--momentum", "0.9", "--only", "momentum.*")
    assert result.exit_code == 0, result.output
    assert "momentum.conv.weight" in result.output and "B ← μ·B" in result.output


def test_a_planted_bug_turns_the_step_red(invoke_cli):
    result = invoke_cli("run", "--lr", "0.1", "--bug", "kernel-flipped", "--only", "update.*")
    assert result.exit_code == 1
    assert "update.conv.weight" in result.output.split("disagree")[-1]


@pytest.mark.parametrize("args", [["--momentum", "0.9"], ["--lr", "-1"], ["--lr", "nan"]])
def test_bad_sgd_options(invoke_cli, args):
    result = invoke_cli("run", *args)
    assert result.exit_code == 2 and result.output.startswith("Error: ")


def test_train_issue_command(invoke_cli):
    result = invoke_cli("train", *ISSUE)
    assert result.exit_code == 0, result.output
    assert "every step's loss agrees with torch's loop" in result.output
    assert "· |Δ| ≤ 1e-05·Σ|terms|" in result.output  # the rule run's closing line states
    assert "loss 11 → 0.4962" in result.output and "●" in result.output


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_train_json_steps_follow_torch(invoke_cli, dtype):
    doc = json.loads(invoke_cli("train", *ISSUE, "--momentum", "0.9", "--dtype", dtype,
                                "--json").stdout)  # fmt: skip
    assert list(doc) == ["scenario", "tolerance", "steps", "max_abs_loss_diff", "interrupted",
                         "stages"]  # fmt: skip
    losses = np.array([s["loss"] for s in doc["steps"]])
    ref = np.array([s["reference_loss"] for s in doc["steps"]])
    assert len(losses) == 30 and losses[-1] < losses[0] / 4
    np.testing.assert_allclose(losses, ref, rtol=doc["tolerance"] * 10, atol=doc["tolerance"])
    assert [s["name"] for s in doc["stages"]] == ["final.conv.weight", "final.conv.bias",
                                                  "final.fc.weight", "final.fc.bias"]  # fmt: skip
    assert all(s["agrees"] for s in doc["stages"])


def test_train_without_torch(invoke_cli):
    doc = json.loads(invoke_cli("train", *ISSUE, "--no-compare-torch", "--json").stdout)
    assert all(s["reference_loss"] is None for s in doc["steps"])


def test_train_on_a_dataset_in_minibatches(invoke_cli, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([0, 1, 2, 0, 1, 2]))
    result = invoke_cli("train", "--net", "conv(2,3) relu maxpool(2) fc(3)", "--loss", "ce",
                        "--input", tmp_path / "x.npy", "--target", tmp_path / "y.npy",
                        "--batch-size", "4", "--steps", "5", "--lr", "0.1", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["steps"]) == 5
    too_big = invoke_cli("train", "--input", tmp_path / "x.npy", "--batch-size", "7")
    assert too_big.exit_code == 2


def test_train_a_wrong_optimizer_exits_1(invoke_cli, monkeypatch):
    monkeypatch.setattr(SGD, "direction", lambda self, name, w, g: 2 * np.asarray(g, w.dtype))
    result = invoke_cli("train", *ISSUE, "--steps", "5")
    assert result.exit_code == 1 and "disagree with torch's loop" in result.output
    assert "✗ the losses disagree" in result.output and "Σ|terms|" in result.output


def test_train_ctrl_c_keeps_the_steps_so_far(invoke_cli, monkeypatch):
    calls = []
    real = SGD.step_layers

    def interrupted(self, layers):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(self, layers)

    monkeypatch.setattr(SGD, "step_layers", interrupted)
    result = invoke_cli("train", *ISSUE)
    assert result.exit_code == 130
    assert "3 of 30 steps" in result.output and "Ctrl-C" in result.output


def test_train_every_prints_full_traces(invoke_cli):
    result = invoke_cli("train", *ISSUE, "--steps", "4", "--every", "2")
    assert result.exit_code == 0, result.output
    assert "step 0: the full trace" in result.output and "step 2: the full trace" in result.output
    assert "grad.conv.weight" in result.output


@pytest.mark.parametrize("suffix", ["html", "svg", "md", "txt"])
def test_train_export(invoke_cli, tmp_path, suffix):
    path = tmp_path / f"curve.{suffix}"
    result = invoke_cli("train", *ISSUE, "--steps", "5", "--export", path, "--quiet")
    assert result.exit_code == 0 and result.output == ""
    text = path.read_text(encoding="utf-8")
    assert "●" in text or "&#9679;" in text or "9679" in text


def test_step_matches_torch_after_the_step(invoke_cli):
    """update.loss's torch column is torch's own loss after torch.optim.SGD's step."""
    stages = _stages(invoke_cli("run", "--pool", "avg", "--target", "1", "--lr", "0.01",
                                "--dtype", "float64", "--json"))  # fmt: skip
    after = torch.tensor(stages["update.loss"]["reference"])
    assert abs(float(after) - stages["update.loss"]["values"]) < 1e-9


def test_train_that_diverges_is_one_line(invoke_cli):
    result = invoke_cli("train", "--lr", "1000", "--steps", "50", "--loss", "mse")
    assert result.exit_code == 2 and "smaller --lr" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_train_on_a_picture(invoke_cli):
    result = invoke_cli("train", "--net", "conv(4,3) relu maxpool(2) fc(3)", "--input",
                        "examples/digit3.png", "--resize", "8", "--normalize", "--loss", "ce",
                        "--target", "1", "--steps", "30", "--lr", "0.05", "--seed", "3",
                        "--json")  # fmt: skip
    doc = json.loads(result.stdout)
    losses = [s["loss"] for s in doc["steps"]]
    assert doc["scenario"]["input_shape"] == [1, 1, 8, 8] and losses[-1] < losses[0] / 4
    assert all(s["agrees"] for s in doc["stages"])
    assert doc["max_abs_loss_diff"] <= doc["tolerance"] * max(1, max(losses))
