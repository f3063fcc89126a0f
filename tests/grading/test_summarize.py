"""``convtrace check --summarize RESULTS...``: the class report over check's own outputs.

The expected mistake of each example student is read from its docstring ("names `id`"), not
from our output; the per-case rates are recounted here from the --json document."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convtrace.cli.main import app

pytestmark = pytest.mark.slow
STUDENTS = Path(__file__).resolve().parents[2] / "examples" / "students"


def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "120"})
    return result.exit_code, result.stdout, result.stderr


def declared() -> Counter:
    """Each example's own statement of the mistake it makes."""
    found = Counter()
    for path in STUDENTS.glob("*.py"):
        head = path.read_text().split('"""')[1]
        found.update(set(re.findall(r"names `([a-z0-9-]+)`", head)))
    return found


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    code, out, err = run("check", STUDENTS, "--csv", folder / "grades.csv", "--json")
    assert code == 1, err
    (folder / "class.json").write_text(out)
    for name in ("stride_ignored", "correct"):
        code, _, err = run("check", STUDENTS / f"{name}.py", "--gradescope", folder / "gs" / name)
        assert code == 0, err
    return folder


def test_mistake_counts_match_what_the_students_declare(outputs):
    expected = declared()
    assert expected  # the examples say what they do
    for source in ("grades.csv", "class.json"):
        code, out, err = run("check", "--summarize", outputs / source, "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["students"] == len(list(STUDENTS.glob("*.py")))
        assert {m["id"]: m["students"] for m in doc["mistakes"]} == dict(expected)
        stride = next(m for m in doc["mistakes"] if m["id"] == "stride-ignored")
        assert [Path(f).name for f in stride["files"]] == ["stride_ignored.py"]
        assert sum(h["students"] for h in doc["histogram"]) == doc["students"]


def test_case_and_tensor_rates_are_recounted_from_the_documents(outputs):
    files = json.loads((outputs / "class.json").read_text())["files"]
    code, out, _ = run("check", "--summarize", outputs / "class.json", "--json")
    doc = json.loads(out)
    for row in doc["cases"]:
        failed = sum(
            not c["passed"]
            for f in files
            for c in f["cases"]
            if c["name"] == row["case"] and c["in_contract"]
        )
        assert row["failed"] == failed
    dx = next(t for t in doc["tensors"] if t["tensor"] == "dX")
    assert 0 < dx["failed"] < dx["checks"]


def test_a_folder_of_gradescope_results_and_the_exports(outputs, tmp_path):
    code, out, err = run("check", "--summarize", outputs / "gs", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["students"] == 2 and doc["passed"] == 1
    assert [m["id"] for m in doc["mistakes"]] == ["stride-ignored"]
    report = tmp_path / "report.md"
    code, out, err = run("check", "--summarize", outputs / "gs", "--export", report, "--lang", "es")
    assert code == 0, err
    text = report.read_text(encoding="utf-8")
    assert "stride-ignored" in text and "Estudiantes por error del catálogo" in text
    html = tmp_path / "report.html"
    assert run("check", "--summarize", outputs / "grades.csv", "--export", html, "--quiet")[0] == 0
    assert "stride-ignored" in html.read_text(encoding="utf-8")


def test_refusals(tmp_path):
    assert run("check", "--summarize")[0] == 2
    assert run("check", "--summarize", tmp_path)[0] == 2  # no results.json in it
    bad = tmp_path / "x.json"
    bad.write_text('{"a": 1}')
    assert run("check", "--summarize", bad)[0] == 2
    assert run("check", STUDENTS / "correct.py", STUDENTS / "overwrite.py")[0] == 2
