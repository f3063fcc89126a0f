"""Hostile and odd inputs seen in the field: each is accepted consistently or refused with
``Error: <sentence>`` and exit 2, never an internal error, a traceback or invalid JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest


def refused(result, *words):
    """Exit 2 with one ``Error:`` sentence naming each of ``words``."""
    assert result.exit_code == 2, result.output
    assert "Internal error" not in result.output and "Traceback" not in result.output
    assert "Error:" in result.output
    for word in words:
        assert word in result.output, (word, result.output)


# ----------------------------------------------------------------- item 9: case of choices
@pytest.mark.parametrize(
    ("flag", "value", "key", "normal"),
    [
        ("--loss", "CE", "loss", "ce"),
        ("--pool", "MAX", "pool", "max"),
        ("--pool", "Avg", "pool", "avg"),
        ("--method", "IM2COL", "method", "im2col"),
        ("--dtype", "FLOAT64", "dtype", "float64"),
        ("--activation", "ReLU", "activation", "relu"),
        ("--padding", "SAME", "padding", "same"),
    ],
)
def test_choices_accept_any_case_in_the_run_and_the_json(invoke, flag, value, key, normal):
    result = invoke("run", flag, value, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["scenario"][key] == normal
    assert all(stage["agrees"] for stage in document["stages"])


def test_loss_ce_in_capitals_draws_the_same_network_as_lower_case(invoke):
    upper = json.loads(invoke("run", "--loss", "CE", "--json").stdout)
    lower = json.loads(invoke("run", "--loss", "ce", "--json").stdout)
    assert upper == lower


# ----------------------------------------------------------------- item 10: overflow
def test_float32_input_near_its_limit_is_refused_naming_the_stage_and_range(invoke, tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.full((6, 6), 1e38, np.float32))
    result = invoke("run", "--input", path)
    refused(result, "overflowed", "float32", "3.403e+38", "--dtype float64")
    assert "RuntimeWarning" not in result.output


def test_overflow_with_json_prints_no_document(invoke, tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.full((6, 6), 1e38, np.float32))
    result = invoke("run", "--input", path, "--json")
    refused(result, "overflowed")
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout


def test_float64_near_its_limit_names_float64(invoke, tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.full((6, 6), 1e308))
    refused(invoke("run", "--input", path, "--dtype", "float64"), "overflowed", "float64")


def test_a_float64_file_beyond_float32_is_refused_before_the_cast(invoke, tmp_path):
    path = tmp_path / "huge.npy"
    np.save(path, np.full((6, 6), 1e300))
    result = invoke("run", "--input", path)
    refused(result, str(path), "float32", "--dtype float64")
    assert "RuntimeWarning" not in result.output


def test_large_but_representable_weights_still_agree_with_torch(invoke, tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, **{"conv.weight": np.full((2, 1, 3, 3), 1e30)})
    result = invoke("run", "--weights", path, "--json")
    assert result.exit_code == 0, result.output
    assert all(s["agrees"] for s in json.loads(result.stdout)["stages"])


def test_huge_logits_do_not_make_the_losses_overflow(invoke, tmp_path):
    """bce and ce are computed from logits in a stable form: a logit of 1e30 is no overflow."""
    path = tmp_path / "w.npz"
    np.savez(path, **{"fc.bias": np.full(3, 1e30) * np.array([1, -1, 0])})
    result = invoke("run", "--weights", path, "--loss", "ce", "--json")
    assert result.exit_code == 0, result.output
    path1 = tmp_path / "w1.npz"
    np.savez(path1, **{"fc.bias": np.array([1e30])})
    result = invoke("run", "--weights", path1, "--json")
    assert result.exit_code == 0, result.output
