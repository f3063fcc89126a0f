"""``convtrace check FILE --gradescope [DIR]``: a schema-valid results.json whatever the
submission does, exit 0 once written."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from convtrace.cli.main import app

from .gradescope_schema import RESULTS

pytestmark = pytest.mark.slow
STUDENTS = Path(__file__).resolve().parents[2] / "examples" / "students"


def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "100"})
    return result.exit_code, result.stdout + result.stderr


def results(folder: Path) -> dict:
    doc = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, RESULTS)
    return doc


def test_a_buggy_file_gets_failed_tests_with_the_diagnosis(tmp_path):
    code, out = run("check", STUDENTS / "stride_ignored.py", "--gradescope", tmp_path)
    assert code == 0, out
    doc = results(tmp_path)
    failed = [t for t in doc["tests"] if t["status"] == "failed"]
    assert failed and all(t["score"] == 0 and t["visibility"] == "visible" for t in failed)
    assert 0 < doc["score"] < 100
    assert doc["score"] == pytest.approx(sum(t["score"] for t in doc["tests"]), abs=0.1)
    assert "**Diagnosis:**" in doc["output"] and "stride" in doc["output"]
    assert "Smallest failing case" in doc["output"]
    code, out = run("check", STUDENTS / "stride_ignored.py", "--json")
    assert json.loads(out)["score"] == doc["score"]


def test_a_correct_file_with_hidden_cases_scores_100(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --gradescope last, no DIR: the default folder is absolute,
    folder = tmp_path / "results"  # so this run names one
    code, out = run("check", STUDENTS / "correct.py", "--hide-cases", "--gradescope", folder)
    assert code == 0, out
    doc = results(folder)
    assert doc["score"] == 100.0 and doc["tests"]
    assert all(t["status"] == "passed" and t["visibility"] == "hidden" for t in doc["tests"])


@pytest.mark.parametrize(
    "name, text",
    [
        ("syntax.py", "class Conv2D(:\n"),
        ("crash.py", "import os\nos._exit(3)\n"),
        (
            "hang.py",
            "class Conv2D:\n    def __init__(self, *a, **k):\n        pass\n"
            "    def forward(self, X):\n        while True:\n            pass\n"
            "    def backward(self, d):\n        return d, d\n",
        ),  # fmt: skip
        ("notes.txt", "not python"),
    ],
)
def test_a_submission_that_cannot_be_graded_still_gets_a_readable_zero(tmp_path, name, text):
    submission = tmp_path / name
    submission.write_text(text)
    folder = tmp_path / "results"
    code, out = run("check", submission, "--gradescope", folder, "--timeout", "0.5")
    assert code == 0, out
    doc = results(folder)
    assert doc["score"] == 0.0 and doc["output"].strip()
    assert all(t["status"] == "failed" for t in doc["tests"])


def test_a_missing_file_and_spanish(tmp_path):
    folder = tmp_path / "r"
    code, out = run("check", tmp_path / "gone.py", "--lang", "es", "--gradescope", folder)
    assert code == 0, out
    doc = results(folder)
    assert doc["score"] == 0.0 and "no se pudo calificar" in doc["output"]


def test_refusals(tmp_path):
    assert run("check", STUDENTS, "--gradescope", tmp_path)[0] == 2
    assert run("check", STUDENTS / "correct.py", "--hide-cases")[0] == 2
    assert run("check", STUDENTS / "correct.py", "--gradescope", "--hide-cases")[0] == 2
    assert not (tmp_path / "results.json").exists()
