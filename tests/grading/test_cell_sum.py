"""The first wrong cell as an explain sum (``check/cellsum.py``): for every graded function the
terms, written with the case's numbers, add up to torch's value, computed here by autograd on
the same arrays (not the grader's reference); the Markdown block shows them; a wrong student
file gets the block in its results.json (schema-valid) and in the terminal report."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from convtrace.check import cellsum
from convtrace.check.cases import build_battery, torch_reference
from convtrace.check.grade import CaseResult
from convtrace.cli.main import app

from .gradescope_schema import RESULTS

WILD = Path(__file__).resolve().parents[1] / "students_wild"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "students"
CASES = {c.name: c for c in build_battery("cs231n")}
NAMES = ["worked", "pad2-s2-batch", "s1-same-even", "pool-3x3-s2", "pool-2x3-s1", "affine-4d",
         "affine-3d", "relu-4d", "bn-train-eps-0.1", "bn-test-eps-0.1", "sbn-train-eps-0.1",
         "sbn-test-eps-0.01"]  # fmt: skip


def autograd(case) -> dict[str, np.ndarray]:
    """torch's out and gradients for the case, by autograd on torch's own layers."""
    import torch
    import torch.nn.functional as F

    s = case.spec
    x = torch.tensor(case.x, requires_grad=True)
    params = {}
    if s.kind == "conv":
        w, b = (torch.tensor(a, requires_grad=True) for a in (case.w, case.b))
        (pt, pb), (pl, pr) = case.pads
        out = F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b, stride=s.stride)
        params = {"dF": w, "db": b}
    elif s.kind == "pool":
        out = F.max_pool2d(x, s.khw, s.stride)
    elif s.kind == "affine":
        w, b = (torch.tensor(a, requires_grad=True) for a in (case.w, case.b))
        out = F.linear(x.flatten(1), w.T, b)
        params = {"dF": w, "db": b}
    elif s.kind == "relu":
        out = F.relu(x)
    else:
        g, b = (torch.tensor(a, requires_grad=True) for a in (case.w, case.b))
        train = s.mode == "train"
        mean, var = (None, None) if train else (torch.tensor(a) for a in case.running)
        out = F.batch_norm(x, mean, var, g, b, training=train, momentum=0.0, eps=s.eps)
        params = {"dF": g, "db": b} if train else {}
    answer = {"out": out.detach().numpy()}
    if s.kind not in ("bn", "sbn") or s.mode == "train":
        out.backward(torch.tensor(case.dout))
        answer |= {"dX": x.grad.numpy(), **{k: p.grad.numpy() for k, p in params.items()}}
    return answer


def cells(shape) -> list[tuple[int, ...]]:
    """The first and last cell and two drawn ones."""
    rng = np.random.default_rng(len(shape))
    drawn = [tuple(int(rng.integers(n)) for n in shape) for _ in range(2)]
    return [(0,) * len(shape), tuple(n - 1 for n in shape), *drawn]


def block_numbers(block: str) -> tuple[list[float], float]:
    """The numbers a reader adds up (each term's product, the rest, the bias) and the
    '= PyTorch' line's value, read from the Markdown."""
    lines = block.strip("`").splitlines()
    added, total = [], None
    for line in lines:
        value = float(line.split()[-1]) if re.search(r"[-\d.e]+$", line) else None
        if line.startswith(("  ", "+ ")) and value is not None:
            added.append(value)
        elif line.startswith("= "):
            total = value
    return added, total


@pytest.mark.parametrize("name", NAMES)
def test_the_terms_add_up_to_torchs_value_in_every_graded_tensor(name):
    case = CASES[name]
    truth = autograd(case)
    r = CaseResult(case, torch_reference(case))
    for component, values in truth.items():
        for index in cells(values.shape):
            e = cellsum.explain(r, component, index)
            assert e is not None, (name, component)
            total = math.fsum([t.product for t in e.terms] + [e.bias or 0.0])
            assert total == pytest.approx(values[index], rel=1e-9, abs=1e-12), (component, index)
            block = cellsum.markdown_sum(r, component, index, got=values[index] + 1)
            added, shown = block_numbers(block)
            assert len(added) <= cellsum.SHOWN + 2  # the terms shown, the rest, the bias
            assert shown == pytest.approx(values[index], rel=1e-5, abs=1e-6)
            assert math.fsum(added) == pytest.approx(values[index], rel=1e-4, abs=1e-5)
            assert f"your value: {values[index] + 1 + 0.0:.6g}" in block


def test_a_conv_out_cell_has_one_term_per_channel_and_kernel_offset():
    case = CASES["pad2-s2-batch"]  # C 2, kernel 4×2: 16 terms, padding cells among them
    r = CaseResult(case, torch_reference(case))
    e = cellsum.explain(r, "out", (1, 2, 0, 0))
    assert len(e.terms) == 2 * 4 * 2 and any(t.factors[0] == 0.0 for t in e.terms)
    assert e.bias == case.b[2]
    block = cellsum.markdown_sum(r, "out", (1, 2, 0, 0))
    assert f"… {16 - cellsum.SHOWN} more terms" in block and "your value" not in block


def test_max_pool_says_which_cell_is_the_max_and_where_the_gradient_goes():
    case = CASES["pool-3x3-s2"]
    r = CaseResult(case, torch_reference(case))
    window = case.x[0, 1, 2:5, 0:3]
    u, v = np.unravel_index(np.argmax(window), window.shape)
    block = cellsum.markdown_sum(r, "out", (0, 1, 1, 0))
    assert f"the max is x[0,1,{2 + u},{v}] = {window.max():.6g}" in block
    assert f"goes to x[0,1,{2 + u},{v}] only" in block


def test_running_statistics_have_no_sum():
    case = CASES["bn-train"]
    r = CaseResult(case, torch_reference(case))
    assert cellsum.markdown_sum(r, "running_mean", (0,)) is None


# ------------------------------------------------------------------ through the CLI
def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "100"})
    return result.exit_code, result.stdout + result.stderr


def _sum_of(output: str) -> tuple[float, float, float | None]:
    """(what the shown numbers add up to, torch's value, the student's) from a case's
    Markdown: the first wrong cell's line, or (a tensor of the wrong shape: no cell to
    compare) the block's own '= PyTorch' line and no student value."""
    said = re.search(r"is (\S+), PyTorch gives (\S+)", output)
    block = re.search(r"```text\n(.*?)```", output, re.S).group(1)
    added, total = block_numbers(block)
    if said is None:
        assert "has the wrong shape" in output and "your value" not in block
        return math.fsum(added), total, None
    return math.fsum(added), float(said.group(2)), float(said.group(1))


@pytest.mark.slow
@pytest.mark.parametrize(
    "student", ["maxpool_overwrite.py", "relu_forgets_dout.py", "bn_eps_outside_sqrt.py",
                "affine_bias_left_out.py", "unpad_negative_slice.py", "overwrite.py"],
)  # fmt: skip
def test_a_wrong_file_gets_the_sum_in_its_results_json(tmp_path, student):
    path, api = WILD / student, ["--api", "cs231n"]
    if student == "overwrite.py":  # the course's class API
        path, api = EXAMPLES / student, []
    if not path.exists():  # our own: the affine layer's bias left out (a wrong value, no crash)
        source = (WILD / "correct_layers.py").read_text(encoding="utf-8")
        assert "x_row.dot(w) + b" in source
        path = tmp_path / student
        path.write_text(source.replace("x_row.dot(w) + b", "x_row.dot(w)"), encoding="utf-8")
    code, out = run("check", path, *api, "--gradescope", tmp_path / "out")
    assert code == 0, out
    doc = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, RESULTS)
    failed = [t for t in doc["tests"] if t["status"] == "failed" and "```text" in t["output"]]
    assert failed, [t["output"] for t in doc["tests"] if t["status"] == "failed"][:1]
    for test in failed:
        added, torch_value, got = _sum_of(test["output"])
        assert added == pytest.approx(torch_value, rel=1e-4, abs=1e-5)
        assert got is None or f"your value: {got + 0.0:.6g}" in test["output"]
    assert "```text" in doc["output"]  # the smallest failing case, in the summary


@pytest.mark.slow
def test_the_sum_is_in_spanish_with_lang_es(tmp_path):
    code, out = run("check", WILD / "maxpool_overwrite.py", "--api", "cs231n", "--lang", "es",
                    "--gradescope", tmp_path)  # fmt: skip
    assert code == 0, out
    doc = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert "tu valor:" in doc["output"] and "El valor correcto" in doc["output"]


@pytest.mark.slow
def test_the_terminal_report_writes_a_pool_cell_as_its_sum():
    code, out = run("check", WILD / "maxpool_overwrite.py", "--api", "cs231n")
    assert code == 1, out
    flat = " ".join(out.split())
    assert "the expected value, as its sum:" in flat
    assert "Σ over the windows holding (r,q) of ∂L/∂out[n,c,i,j]" in flat
    code, out = run("check", WILD / "correct_layers.py", "--api", "cs231n")
    assert code == 0 and "as its sum" not in out
