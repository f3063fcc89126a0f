"""`convtrace check --api cs231n` on batch normalisation: its own report sections, the id with
its evidence and fix (in Spanish too), ✓ for the correct file and ✗ for the mistaken ones."""

import json
from pathlib import Path

WILD = Path(__file__).resolve().parents[1] / "students_wild"


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_correct_file_passes_in_both_sections(invoke):
    result = invoke("check", WILD / "batchnorm_correct.py", "--api", "cs231n")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "batch normalisation case geometry shape forward dγ dX dβ running" in out
    assert "spatial batch normalisation" in out and "sbn-test-eps-0.01" in out
    assert "✓ 26 of 26 cases pass" in out


def test_test_mode_without_eps_is_named_with_its_evidence(invoke):
    path = WILD / "bn_test_no_eps.py"
    result = invoke("check", path, "--api", "cs231n")
    assert result.exit_code == 1
    out = flat(result.stdout)
    assert "diagnosis bn-test-eps-missing (batch normalisation) wrong: forward" in out
    assert "every train-mode case passes; in test mode the output is (x − running_mean)" in out
    assert "first failure" in out and "bn-test-eps-0.1: x 3×3, test mode, eps 0.1" in out
    assert "fix: In test mode too: x_hat = (x - running_mean) / np.sqrt(running_var + eps)." in out
    assert "✗ 5 of 26 cases fail" in out and "no known pattern" not in out
    spanish = flat(invoke("check", path, "--api", "cs231n", "--lang", "es").stdout)
    assert "normalización por lotes" in spanish and "todo caso en modo train pasa" in spanish
    assert "También en modo test" in spanish


def test_running_statistics_are_graded_and_reported(invoke):
    result = invoke("check", WILD / "bn_running_var_std.py", "--api", "cs231n", "--json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 1 and doc["diagnosis"] == ["bn-running-var-std"]
    train = [c for c in doc["cases"] if c["kind"] in ("bn", "sbn") and "train" in c["name"]]
    assert train and all(
        c["checks"]["running_var"] is False and c["checks"]["running_mean"] is True
        and c["checks"]["forward"] is True for c in train
    )  # fmt: skip
    test = [c for c in doc["cases"] if c["kind"] in ("bn", "sbn") and "test" in c["name"]]
    assert test and all(c["passed"] and "running_var" not in c["checks"] for c in test)


def test_a_wrong_test_mode_no_entry_fits_is_no_known_pattern(invoke):
    result = invoke("check", WILD / "bn_test_batch_stats.py", "--api", "cs231n", "--json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 1 and doc["diagnosis"] == [] and doc["no_known_pattern"]
