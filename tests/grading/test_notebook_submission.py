"""``.ipynb`` submissions: code cells in order, IPython lines dropped (said), same sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

import convtrace
from convtrace.check.notebook_source import notebook_to_python
from convtrace.cli.main import app

from .gradescope_schema import RESULTS

STUDENTS = Path(__file__).resolve().parents[2] / "examples" / "students"


def as_notebook(student: str, folder: Path) -> Path:
    """The student's file as a course notebook: prose, magics, a shell line, the class split
    from its imports, a %%time cell."""
    source = (STUDENTS / f"{student}.py").read_text()
    head, _, body = source.partition("\nclass ")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Práctica: convolución\nImplementa `Conv2D`."),
        nbformat.v4.new_code_cell("%matplotlib inline\n!pip install numpy\n" + head),
        nbformat.v4.new_code_cell("class " + body),
        nbformat.v4.new_code_cell("%%time\nwhile True:\n    pass"),
        nbformat.v4.new_code_cell("files = !ls\nx = np.ones(3)"),
    ]
    path = folder / f"{student}.ipynb"
    nbformat.write(nb, path)
    return path


def test_cells_in_order_magics_dropped():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("a = 1\n%time b = 2"),
        nbformat.v4.new_markdown_cell("a = 99"),
        nbformat.v4.new_code_cell("if a:\n    !echo hi\nc = a + 1"),
        nbformat.v4.new_code_cell("%%bash\necho all"),
    ]
    source, cells, dropped = notebook_to_python(nbformat.writes(nb))
    assert (cells, dropped) == (3, 4)
    namespace = {}
    exec(source, namespace)
    assert namespace["a"] == 1 and namespace["c"] == 2 and "b" not in namespace
    with pytest.raises(ValueError):
        notebook_to_python("{not json")


@pytest.mark.slow
def test_a_notebook_is_graded_as_its_python_file(tmp_path):
    notebook = as_notebook("stride_ignored", tmp_path)
    runner = CliRunner()
    as_py = json.loads(runner.invoke(app, ["check", str(STUDENTS / "stride_ignored.py"),
                                           "--json"]).stdout)  # fmt: skip
    result = runner.invoke(app, ["check", str(notebook), "--json"])
    assert result.exit_code == 1, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert "stride-ignored" in doc["diagnosis"] and doc["score"] == as_py["score"]
    assert "5 code cells" not in doc["remark"] and "4 code cells" in doc["remark"]
    assert "6 IPython lines" in doc["remark"]  # %matplotlib, !pip, the %%time cell (3), files = !ls
    folder = tmp_path / "results"
    result = runner.invoke(app, ["check", str(notebook), "--gradescope", str(folder)])
    assert result.exit_code == 0
    gradescope = json.loads((folder / "results.json").read_text())
    import jsonschema

    jsonschema.validate(gradescope, RESULTS)
    assert gradescope["score"] == as_py["score"] and "notebook" in gradescope["output"]


@pytest.mark.slow
def test_a_correct_notebook_passes_and_a_broken_one_is_refused(tmp_path):
    assert convtrace.check(as_notebook("correct", tmp_path)).passed
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not a notebook")
    r = convtrace.check(broken)
    assert not r.passed and r.score == 0.0 and "notebook" in r.error
    result = CliRunner().invoke(app, ["check", str(broken)])
    assert result.exit_code == 2
