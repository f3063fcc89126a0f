"""examples/worked_example.ipynb: stored clean, and run headless in a kernel of this Python."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "worked_example.ipynb"


def test_the_notebook_is_stored_clean_for_a_python3_kernel():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)


@pytest.fixture
def this_python_kernel(tmp_path, monkeypatch):
    """Make kernel "python3" this interpreter: a kernel spec on JUPYTER_PATH (searched before
    the user's and the system's), as ipykernel would install it for sys.executable."""
    from ipykernel.kernelspec import get_kernel_dict

    spec = tmp_path / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps(get_kernel_dict()))
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(tmp_path),
                       os.environ.get("JUPYTER_PATH")])))  # fmt: skip
    return "python3"


def outputs(cell) -> str:
    """Every text a code cell showed: streams, text/plain and text/html."""
    parts = []
    for out in cell.outputs:
        parts.append(out.get("text", ""))
        data = out.get("data", {})
        parts += [data.get("text/plain", ""), data.get("text/html", "")]
    return "\n".join(parts)


@pytest.mark.slow  # seconds: left out of the quick subset (pytest -m "not slow")
def test_the_notebook_runs_and_shows_the_stage_panels(this_python_kernel):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    client = NotebookClient(
        nb,
        kernel_name=this_python_kernel,
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()

    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    errors = [out for c in code for out in c.outputs if out.output_type == "error"]
    assert not errors, errors
    assert os.path.realpath(outputs(code[-1]).strip()) == os.path.realpath(sys.executable)

    panels = [out for c in code for out in c.outputs if "text/html" in out.get("data", {})]
    assert panels, "no cell displayed the stage panels"
    for out in panels:  # Rich's recording, colours as inline styles, in both forms
        assert out.data["text/html"].startswith("<pre") and "color: #" in out.data["text/html"]
        assert "─" in out.data["text/plain"]

    whole = "\n".join(outputs(c) for c in code)
    for name in ("input", "conv.out", "pool.out", "fc.out", "loss", "grad.conv.weight",
                 "grad.input"):  # fmt: skip
        assert f"─ {name}  " in whole, f"no panel for {name}"
    assert "✓ 25 of 25 stages agree" in whole and "disagree" not in whole

    weights = next(outputs(c) for c in code if 't.show("grad.conv.weight")' in c.source)
    assert "0 │ 25  17  13" in weights  # the course's dW, first row of filter 0
    explained = next(outputs(c) for c in code if "grad.conv.weight[0,0,0,0]" in c.source)
    assert "grad.conv.weight[0,0,0,0] = 25" in explained and "✓ torch: 25" in explained
