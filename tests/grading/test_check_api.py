"""``convtrace.check(...)``: the grader from Python (a notebook's test cell, Otter, nbgrader).

The verdicts are checked against torch (the first wrong cell it reports is recomputed here from
the student's own code and torch's conv2d) and the Gradescope document against a JSON Schema.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import convtrace

from .gradescope_schema import RESULTS

pytestmark = pytest.mark.slow
STUDENTS = Path(__file__).resolve().parents[2] / "examples" / "students"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"student_{name}", STUDENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # inspect.getsource finds a class through its module
    spec.loader.exec_module(module)
    return module


def test_import_and_help_do_not_import_torch():
    code = "import sys, convtrace; convtrace.check; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    code = (
        "import sys; from convtrace.cli.main import main; sys.argv = ['convtrace', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nassert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_correct_file_passes_and_its_gradescope_document_is_valid():
    r = convtrace.check(STUDENTS / "correct.py")
    assert r.passed and r.score == 100.0 and r.diagnosis == [] and r.error is None
    doc = r.to_gradescope()
    jsonschema.validate(doc, RESULTS)
    assert doc["score"] == 100.0
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in doc["tests"])
    assert sum(t["max_score"] for t in doc["tests"]) == pytest.approx(100.0)


def test_stride_bug_fails_named_and_its_first_wrong_cell_is_torchs_disagreement():
    torch = pytest.importorskip("torch")
    r = convtrace.check(str(STUDENTS / "stride_ignored.py"), cls="Conv2D")
    assert not r.passed and "stride-ignored" in r.diagnosis and 0 < r.score < 100
    doc = r.to_gradescope(hide_cases=True)
    jsonschema.validate(doc, RESULTS)
    failed = [t for t in doc["tests"] if t["status"] == "failed"]
    assert failed and all(t["score"] == 0 and t["visibility"] == "hidden" for t in failed)
    assert doc["score"] == pytest.approx(sum(t["score"] for t in doc["tests"]), abs=0.1)
    assert "**Diagnosis:**" in doc["output"] and "**Fix:**" in doc["output"]
    # the first wrong cell it reports: torch's autograd, here, disagrees with the student there
    case = r._result.first_failure().case
    first = r.cases[[c.case for c in r._result.cases].index(case)]["first_wrong"]
    x = torch.tensor(case.x, requires_grad=True)
    w = torch.tensor(case.w, requires_grad=True)
    (pt, pb), (pl, pr) = case.pads
    out = torch.nn.functional.conv2d(
        torch.nn.functional.pad(x, (pl, pr, pt, pb)), w, torch.tensor(case.b), stride=case.stride
    )
    out.backward(torch.tensor(case.dout))
    grads = {"dF": w.grad.numpy(), "dX": x.grad.numpy()}
    assert first["tensor"] in grads  # its forward is right: a gradient is the first wrong
    truth = grads[first["tensor"]][tuple(first["cell"])]
    assert first["expected"] == pytest.approx(truth, rel=1e-9, abs=1e-12)
    assert abs(first["got"] - truth) > 1e-6 * max(1.0, np.abs(grads[first["tensor"]]).max())


def test_class_object_and_module_are_graded_in_the_sandbox():
    good = _load("correct").Conv2D
    r = convtrace.check(good)
    assert r.passed and r.to_dict()["file"] == "<Conv2D>"
    bad = _load("padding_not_removed")
    r = convtrace.check(bad)
    assert not r.passed and "padding-not-removed" in r.diagnosis


def test_a_class_typed_in_a_notebook_cell_is_found_in_the_input_history(monkeypatch):
    """IPython's user namespace is a module without a file, holding the cells in ``In``."""
    import types

    kernel = types.ModuleType("kernel_main")
    monkeypatch.setitem(sys.modules, "kernel_main", kernel)
    source = (STUDENTS / "stride_ignored.py").read_text()
    kernel.In = ["", "import numpy as np", "%time 1", source, "x = 1"]
    exec(compile(source, "<cell>", "exec"), vars(kernel))
    r = convtrace.check(kernel.Conv2D)
    assert not r.passed and "stride-ignored" in r.diagnosis
    kernel.In = ["", "y = 2"]  # the cell is gone from the history: a clear error
    with pytest.raises(convtrace.ConvtraceError, match="cannot read the source"):
        convtrace.check(kernel.Conv2D)


def test_cs231n_api():
    r = convtrace.check(STUDENTS / "cs231n_layers.py", api="cs231n")
    assert r.api == "cs231n" and r.cases and r.to_dict()["cases"]
    doc = r.to_gradescope(points="conv=60,pool=40")  # a correct file earns every point
    jsonschema.validate(doc, RESULTS)
    assert doc["score"] == pytest.approx(100) and r.passed
    assert sum(t["max_score"] for t in doc["tests"]) == pytest.approx(100)
    with pytest.raises(ValueError, match="one of conv"):
        convtrace.check(STUDENTS / "correct.py").to_gradescope(points="pool=5")


def test_a_file_that_does_not_parse_gets_score_zero_and_a_readable_document(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("class Conv2D(:\n    pass\n")
    r = convtrace.check(broken)
    assert not r.passed and r.score == 0.0
    doc = r.to_gradescope()
    jsonschema.validate(doc, RESULTS)
    assert doc["score"] == 0.0 and doc["output"].strip()


def test_spanish_and_jupyter_display():
    r = convtrace.check(STUDENTS / "stride_ignored.py", lang="es")
    doc = r.to_gradescope()
    assert "**Diagnóstico:**" in doc["output"] and "**Solución:**" in doc["output"]
    assert "Diagnosis" not in doc["output"]
    bundle = r._repr_mimebundle_()
    assert "stride-ignored" in bundle["text/plain"] and "<" in bundle["text/html"]


def test_refusals():
    with pytest.raises(convtrace.ConvtraceError):
        convtrace.check(STUDENTS / "correct.py", api="keras")
    with pytest.raises(convtrace.ConvtraceError):
        convtrace.check(STUDENTS / "nothing_here.py")
    with pytest.raises(convtrace.ConvtraceError):
        convtrace.check(42)
