"""``convtrace autograder build``: the zip's real ``run_autograder``, run in a temporary folder
laid out like /autograder, against each example student (and a notebook version of one).

The container installs the wheel the zip carries (setup.sh); here, without network, the
script runs against the convtrace installed in this environment (CONVTRACE_PYTHON), the
wheel's own contents being checked separately."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from convtrace.cli.main import app

from .gradescope_schema import RESULTS
from .test_notebook_submission import as_notebook

pytestmark = pytest.mark.slow
STUDENTS = Path(__file__).resolve().parents[2] / "examples" / "students"
COURSE = ["correct", "overwrite", "padding_not_removed", "stride_ignored"]


def build(folder: Path, *options) -> Path:
    out = folder / "autograder.zip"
    result = CliRunner().invoke(app, ["autograder", "build", "--out", str(out), *options])
    assert result.exit_code == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zips")
    (folder / "class").mkdir()
    (folder / "cs231n").mkdir()
    (folder / "fast").mkdir()
    (folder / "points").mkdir()
    return {
        "points": build(
            folder / "points",
            "--api",
            "cs231n",
            "--points",
            "conv=50,pool=30,affine=10,relu=10,bn=10",
        ),  # fmt: skip
        "class": build(folder / "class", "--api", "class", "--class", "Conv2D"),
        "cs231n": build(folder / "cs231n", "--api", "cs231n", "--lang", "es"),
        "fast": build(folder / "fast", "--timeout", "0.5", "--hide-cases"),
    }


def autograde(archive: Path, submission: Path, root: Path) -> dict:
    for name in ("source", "submission", "results"):
        (root / name).mkdir(parents=True)
    zipfile.ZipFile(archive).extractall(root / "source")
    (root / "submission" / submission.name).write_bytes(submission.read_bytes())
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "CONVTRACE_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, RESULTS)
    return doc


def declared(name: str) -> list[str]:
    return re.findall(r"names `([a-z0-9-]+)`", (STUDENTS / f"{name}.py").read_text())


def test_the_zip_carries_what_gradescope_needs(zips):
    import torch

    names = zipfile.ZipFile(zips["class"]).namelist()
    assert {"setup.sh", "run_autograder", "config.json"} <= set(names)
    wheel = next(n for n in names if n.startswith("convtrace-") and n.endswith(".whl"))
    setup = zipfile.ZipFile(zips["class"]).read("setup.sh").decode()
    assert f"torch=={torch.__version__.split('+')[0]}" in setup and wheel in setup
    config = json.loads(zipfile.ZipFile(zips["cs231n"]).read("config.json"))
    assert config == {"api": "cs231n", "class": "Conv2D", "timeout": 10.0, "lang": "es",
                      "hide_cases": False}  # fmt: skip
    inner = zipfile.ZipFile(zipfile.ZipFile(zips["class"]).open(wheel))
    assert {"convtrace/check/worker.py", "convtrace/locale/es/LC_MESSAGES/convtrace.mo"} <= set(
        inner.namelist()
    )


@pytest.mark.parametrize("name", COURSE)
def test_each_example_student(zips, tmp_path, name):
    doc = autograde(zips["class"], STUDENTS / f"{name}.py", tmp_path / "autograder")
    ids = doc["extra_data"]["convtrace"]["diagnosis"]
    assert ids == declared(name)
    assert (doc["score"] == 100.0) == (name == "correct")


def test_a_notebook_submission(zips, tmp_path):
    notebook = as_notebook("stride_ignored", tmp_path)
    doc = autograde(zips["class"], notebook, tmp_path / "autograder")
    assert doc["extra_data"]["convtrace"]["diagnosis"] == ["stride-ignored"]
    assert 0 < doc["score"] < 100 and "IPython" in doc["output"]


def test_the_cs231n_api_in_spanish(zips, tmp_path):
    doc = autograde(zips["cs231n"], STUDENTS / "cs231n_layers.py", tmp_path / "autograder")
    result = CliRunner().invoke(app, ["check", str(STUDENTS / "cs231n_layers.py"), "--api",
                                      "cs231n", "--json"])  # fmt: skip
    assert doc["score"] == json.loads(result.stdout)["score"] and doc["tests"]


@pytest.mark.parametrize(
    "text",
    ["class Conv2D(:\n",
     "class Conv2D:\n    def __init__(self, *a, **k):\n        pass\n"
     "    def forward(self, X):\n        while True:\n            pass\n"
     "    def backward(self, d):\n        return d, d\n"],
    ids=["syntax", "hang"],
)  # fmt: skip
def test_a_submission_that_does_not_parse_or_hangs_scores_zero(zips, tmp_path, text):
    submission = tmp_path / "layer.py"
    submission.write_text(text)
    doc = autograde(zips["fast"], submission, tmp_path / "autograder")
    assert doc["score"] == 0.0 and doc["output"].strip()
    assert all(t["visibility"] == "hidden" for t in doc["tests"])


def test_an_empty_submission_folder(zips, tmp_path):
    empty = tmp_path / "README.txt"
    empty.write_text("nothing")
    doc = autograde(zips["class"], empty, tmp_path / "autograder")
    assert doc["score"] == 0.0 and doc["tests"] == []


def test_points_per_function(zips, tmp_path):
    """maxpool_overwrite gets max pooling wrong and has no batchnorm: its score is conv's,
    affine's and ReLU's points, pool's share of the cases it passes, and none of bn's 10."""
    wild = Path(__file__).resolve().parents[1] / "students_wild" / "maxpool_overwrite.py"
    config = json.loads(zipfile.ZipFile(zips["points"]).read("config.json"))
    assert config["points"] == {"conv": 50, "pool": 30, "affine": 10, "relu": 10, "bn": 10}
    doc = autograde(zips["points"], wild, tmp_path / "autograder")
    assert doc["extra_data"]["convtrace"]["diagnosis"] == ["maxpool-overwrite"]
    assert sum(t["max_score"] for t in doc["tests"]) == pytest.approx(110)
    pool = [t for t in doc["tests"] if t["name"].startswith("pool-")]
    assert len(pool) == 5 and all(t["max_score"] == pytest.approx(6) for t in pool)
    passed = sum(t["status"] == "passed" for t in pool)
    assert 0 < passed < 5
    assert doc["score"] == pytest.approx(50 + 6 * passed + 10 + 10)
    absent = doc["tests"][-1]
    assert absent["status"] == "failed" and absent["max_score"] == 10 and absent["score"] == 0
    assert "batch normalisation" in absent["output"]


@pytest.mark.parametrize(
    "points, why",
    [("pool=5", "one of conv"), ("conv=-1", "0 to 10,000"), ("conv=1,conv=2", "each kind once"),
     ("conv", "KIND=POINTS"), ("conv=nan", "0 to 10,000"), ("conv=1e308", "0 to 10,000")],
)  # fmt: skip
def test_points_refusals(tmp_path, points, why):
    result = CliRunner().invoke(app, ["autograder", "build", "--out", str(tmp_path / "a.zip"),
                                      "--points", points])  # fmt: skip
    assert result.exit_code == 2 and why in result.output and result.output.startswith("Error:")
    assert not (tmp_path / "a.zip").exists()


def test_the_same_config_builds_the_same_zip(tmp_path):
    """A teacher can tell whether the autograder changed: two builds a second apart are the
    same bytes (fixed dates inside the zip and inside the wheel it carries)."""
    import time

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = build(tmp_path / "a", "--api", "cs231n")
    time.sleep(1.1)
    second = build(tmp_path / "b", "--api", "cs231n")
    assert first.read_bytes() == second.read_bytes()
