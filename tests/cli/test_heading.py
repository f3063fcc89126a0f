"""The heading says where the numbers came from (issue 10, item 3)."""

from __future__ import annotations

import json

import numpy as np


def heading(result) -> str:
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    end = next(i for i, line in enumerate(lines) if "Forward" in line or "Backward" in line)
    return " ".join(line.strip() for line in lines[:end])


def test_default_heading_names_the_target_and_seed(invoke):
    text = heading(invoke("run", "--only", "loss"))
    assert "bce · y = 0 · float32 · seed 42" in text and "from" not in text


def test_class_targets_are_listed(invoke):
    text = heading(invoke("run", "--loss", "ce", "--batch", 3, "--only", "loss"))
    assert "y = [0, 2, 0]" in text


def test_files_target_and_scenario_are_named(invoke, tmp_path):
    np.save(tmp_path / "slide.npy", np.arange(36.0).reshape(6, 6))
    (tmp_path / "student.json").write_text(json.dumps({"conv.bias": [0.5, -0.5]}))
    (tmp_path / "t.csv").write_text("1\n")
    (tmp_path / "lesson.toml").write_text('pool = "avg"\n')
    text = heading(
        invoke(
            "run", "--input", tmp_path / "slide.npy", "--weights", tmp_path / "student.json",
            "--target", tmp_path / "t.csv", "--scenario", tmp_path / "lesson.toml",
            "--only", "loss",
        )
    )  # fmt: skip
    assert f"from input {tmp_path / 'slide.npy'}" in text
    assert f"conv.bias {tmp_path / 'student.json'}" in text
    assert f"y from {tmp_path / 't.csv'}" in text
    assert "--scenario" in text and "lesson.toml" in text


def test_a_typed_target_is_shown_as_its_value(invoke):
    text = heading(invoke("run", "--target", "1", "--only", "loss"))
    assert "y = 1 ·" in text and "from" not in text
