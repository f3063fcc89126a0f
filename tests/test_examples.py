"""Every scenario file in examples/ runs end to end, every stage agreeing with torch."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from convtrace.cli.main import app
from convtrace.scenario.files import load_array, load_weights

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCENARIOS = sorted(EXAMPLES.glob("*.toml"))


def test_the_promised_examples_exist():
    names = {p.stem for p in SCENARIOS}
    assert {"classroom", "exercise_same_stride2", "rgb_avgpool", "digit", "dilation"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_example_runs_and_every_stage_agrees(path):
    result = CliRunner().invoke(app, ["run", "--scenario", str(path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    compared = [s for s in doc["stages"] if s["reference"] is not None]
    assert compared, "no stage was compared with torch"
    assert [s["name"] for s in compared if not s["agrees"]] == []


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_example_opens_with_what_it_teaches(path):
    header = path.read_text(encoding="utf-8").splitlines()[:4]
    assert header[0].startswith(f"# {path.name} — ")
    assert any("What it teaches" in line for line in path.read_text().splitlines()[:6])


def test_exercise_has_the_documented_shapes():
    result = CliRunner().invoke(
        app, ["run", "--scenario", str(EXAMPLES / "exercise_same_stride2.toml"), "--json"]
    )
    s = json.loads(result.stdout)["scenario"]
    assert s["input_shape"] == [10, 4, 7, 7] and s["filters"] == 8 and s["stride"] == [2, 2]
    assert s["padding"] == "same" and s["loss"] == "mse" and s["kernel"] == [3, 3]


def test_classroom_is_the_seed_42_worked_example():
    runner = CliRunner()
    from_file = runner.invoke(
        app, ["run", "--scenario", str(EXAMPLES / "classroom.toml"), "--json"]
    )
    default = runner.invoke(app, ["run", "--seed", "42", "--json"])
    assert json.loads(from_file.stdout)["stages"] == json.loads(default.stdout)["stages"]


def test_digit_files_are_what_make_digit_draws(tmp_path):
    """The committed digit and filters are exactly the script's output (numpy only)."""
    script = tmp_path / "make_digit.py"
    script.write_text((EXAMPLES / "make_digit.py").read_text())
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "digit.npy"), np.load(EXAMPLES / "digit.npy"))
    assert (tmp_path / "edges.json").read_text() == (EXAMPLES / "edges.json").read_text()
    digit = load_array(EXAMPLES / "digit.npy", "--input", 10**7)
    assert digit.shape == (28, 28) and 0 <= digit.min() and digit.max() == 1
    np.testing.assert_allclose(load_array(EXAMPLES / "digit.csv", "--input", 10**7), digit)
    assert load_weights(EXAMPLES / "edges.json", 10**7)["conv.weight"].shape == (3, 1, 3, 3)
