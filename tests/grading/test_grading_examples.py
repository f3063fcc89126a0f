"""examples/grading/: the Otter-Grader test file and the nbgrader-style cell, run on a correct
and a buggy student. Their doctest / assert runs here with the standard library (how Otter's
OK-format doctests and nbgrader's test cells execute); the tests that import otter or
nbgrader themselves skip where those packages are absent."""

from __future__ import annotations

import doctest
import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
STUDENTS = ROOT / "examples" / "students"
GRADING = ROOT / "examples" / "grading"


def student(name: str):
    spec = importlib.util.spec_from_file_location(f"graded_{name}", STUDENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Conv2D


def otter_test() -> dict:
    namespace = {}
    exec((GRADING / "otter_conv2d.py").read_text(), namespace)
    return namespace["test"]


@pytest.mark.parametrize("name, passes", [("correct", True), ("stride_ignored", False)])
def test_the_otter_doctest(name, passes):
    code = otter_test()["suites"][0]["cases"][0]["code"]
    parsed = doctest.DocTestParser().get_doctest(code, {"Conv2D": student(name)}, "conv2d",
                                                 None, 0)  # fmt: skip
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report = []
    runner.run(parsed, out=report.append)
    assert (runner.failures == 0) == passes
    if not passes:  # the student reads the diagnosis in Spanish, in Otter's "Got:" block
        assert "**Diagnóstico:**" in "".join(report)


@pytest.mark.parametrize("name, passes", [("correct", True), ("stride_ignored", False)])
def test_the_nbgrader_cell(name, passes):
    cell = (GRADING / "nbgrader_cell.py").read_text()
    namespace = {"Conv2D": student(name)}
    if passes:
        exec(cell, namespace)
    else:
        with pytest.raises(AssertionError, match="Diagnosis"):
            exec(cell, namespace)


def test_otter_reads_the_test_file():
    pytest.importorskip("otter")
    from otter.test_files import OKTestFile

    assert OKTestFile.from_file(str(GRADING / "otter_conv2d.py")).name == "conv2d"


def test_nbgrader_is_importable_for_the_cell():
    nbgrader = pytest.importorskip("nbgrader")
    assert nbgrader.__version__
