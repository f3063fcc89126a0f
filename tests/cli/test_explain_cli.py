"""`convtrace explain CELL`: the rendered worked example, JSON for each cell kind, exit codes."""

import json
import math

import numpy as np
import pytest

from convtrace.scenario.build import build_scenario
from convtrace.scenario.spec import ScenarioSpec
from convtrace.tracing.pipeline import run_pipeline
from convtrace.tracing.reference import attach_reference

BUSY = [
    "--batch", "2", "--channels", "2", "--size", "7", "--padding", "same", "--stride", "2",
    "--dilation", "2", "--activation", "relu", "--pool", "avg", "--pool-stride", "1",
]  # fmt: skip
BUSY_SPEC = dict(
    batch=2, channels=2, height=7, width=7, padding="same", stride=2, dilation=2,
    activation="relu", pool="avg", pool_stride=1,
)  # fmt: skip


def _doc(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_done_when_worked_example_shows_4_and_its_nine_terms(invoke):
    result = invoke("explain", "conv.out[0,1,2,2]", "--seed", "42")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "conv.out[0,1,2,2] = 4" in text
    assert "1·1 + 5·1 + 3·0 + 5·(-1) + 9·1 + 2·(-1) + 3·(-1) + 1·0 + 2·(-1) + bias 1 = 4" in text
    assert "2 │ 9  1 [1][5][3] 5" in text  # the window, marked without colour
    assert "column 10 (= 2·4 + 2) of X_col[0] · row 1 of W_row = 3, + b[1] 1 = 4" in text
    assert "✓ equals the trace's conv.out[0,1,2,2] = 4" in text
    assert "✓ torch: 4" in text
    assert max(len(line) for line in text.splitlines()) <= 100
    doc = _doc(invoke("explain", "conv.out[0,1,2,2]", "--seed", "42", "--json"))
    assert doc["value"] == doc["trace_value"] == doc["reference"] == 4
    assert len(doc["terms"]) == 9 and doc["bias"] == 1
    assert sum(t["product"] for t in doc["terms"]) + doc["bias"] == 4


@pytest.mark.parametrize(
    "cell, count",
    [
        ("conv.out[1,1,0,3]", 2 * 3 * 3),  # C·kh·kw
        ("pool.out[1,0,1,1]", 4),  # the 2×2 window
        ("grad.conv.weight[1,1,0,2]", 2 * 4 * 4),  # N·H_out·W_out, padding reads included
        ("grad.conv.bias[0]", 2 * 4 * 4),  # N·H_out·W_out
        ("grad.input[1,1,2,4]", 2 * 9),  # F · windows covering the pixel
    ],
)
def test_each_cell_kind_as_json_on_a_busy_scenario(invoke, cell, count):
    doc = _doc(invoke("explain", cell, *BUSY, "--json"))
    trace = attach_reference(run_pipeline(build_scenario(ScenarioSpec(**BUSY_SPEC))))
    stage = trace[doc["stage"]]
    index = tuple(doc["index"])
    assert doc["cell"] == cell and doc["term_count"] == len(doc["terms"]) == count
    assert doc["trace_value"] == float(stage.values[index])
    assert doc["reference"] == float(stage.reference[index])
    total = math.fsum([t["product"] for t in doc["terms"]] + [doc.get("bias", 0.0)])
    assert total == pytest.approx(doc["reference"], rel=1e-5, abs=1e-5)
    assert doc["agrees"] == {"trace": True, "torch": True}


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("pool.out[0,1,1,1]", ["max(4, -7, -6, -5) = 4", "goes entirely to conv.out[0,1,2,2]"]),
        ("grad.conv.weight[0,0,0,0]", ["… and 4 more terms", "= 25", "✓ torch: 25"]),
        ("grad.conv.bias[1]", ["16 terms = N·H_out·W_out = 1·4·4", "✓ torch: 4"]),
        ("grad.input[0,0,2,2]", ["lies in 9 overlapping windows", "9·2 = 18 terms", "flipped"]),
    ],
)
def test_rendered_views_of_the_other_kinds(invoke, cell, expected):
    result = invoke("explain", cell)
    assert result.exit_code == 0, result.output
    for piece in expected:
        assert piece in result.stdout, piece
    assert max(len(line) for line in result.stdout.splitlines()) <= 100


def test_busy_scenario_renders_within_100_columns(invoke):
    for cell in ("conv.out[1,1,0,3]", "grad.conv.weight[1,1,0,2]", "grad.input[1,1,2,4]"):
        result = invoke("explain", cell, *BUSY)
        assert result.exit_code == 0, result.output
        assert max(len(line) for line in result.stdout.splitlines()) <= 100


def test_no_compare_torch(invoke):
    result = invoke("explain", "grad.conv.bias[0]", "--no-compare-torch")
    assert result.exit_code == 0 and "torch comparison skipped" in result.stdout
    doc = _doc(invoke("explain", "grad.conv.bias[0]", "--no-compare-torch", "--json"))
    assert doc["reference"] is None and doc["agrees"]["torch"] is None


@pytest.mark.parametrize(
    "cell, message",
    [
        ("conv.outt[0,0,0,0]", "Error: explain has no sum for 'conv.outt'; it explains one"),
        ("conv.out(0,1,2,2)", "Error: cannot read the cell 'conv.out(0,1,2,2)': write a cell as"),
        ("conv.out[0,2,0,0]", "index [0, 2, 0, 0] is out of range: f = 2, but f runs from 0 to 1"),
        ("conv.out[0,1,2]", "has shape (1, 2, 4, 4), so a cell needs 4 indices; got 3"),
        ("grad.input[0,0,6,0]", "grad.input[n,c,r,q] has shape (1, 1, 6, 6)"),
    ],
)
def test_bad_cells_exit_2_with_a_reason(invoke, cell, message):
    result = invoke("explain", cell)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_disagreement_with_torch_exits_1(invoke, monkeypatch):
    import convtrace.tracing.reference as reference

    original = reference.attach_reference

    def off_by_one(trace):
        original(trace)
        trace["conv.out"].local = trace["conv.out"].local + np.float32(1)  # what is judged
        return trace

    monkeypatch.setattr(reference, "attach_reference", off_by_one)
    result = invoke("explain", "conv.out[0,1,2,2]")
    assert result.exit_code == 1
    assert "✗ torch: 5" in result.stdout


def test_long_sums_show_the_first_12_terms_then_how_many_more_as_the_readme_says(invoke):
    net = "conv(4,3) relu conv(8,3) fc(10)"
    result = invoke("explain", "conv2.out[0,3,1,1]", "--net", net)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "more term" in line)
    terms = 4 * 3 * 3  # C·kh·kw of conv2 (README's table)
    assert line.count("·") == 12 and line.rstrip().endswith(f"… and {terms - 12} more terms")


def test_counts_are_plural_aware_in_both_languages():
    from convtrace.i18n import language
    from convtrace.render.explain_parts import more_terms

    assert more_terms(1) == "… and 1 more term" and more_terms(2) == "… and 2 more terms"
    with language("es"):
        assert more_terms(1) == "… y 1 término más" and more_terms(5) == "… y 5 términos más"


def test_one_zero_term_is_singular(invoke):
    result = invoke("explain", "grad.input[0,0,0,0]")
    assert result.exit_code == 0, result.output
    assert "(1 is 0)" in result.stdout and "(1 are 0)" not in result.stdout
