"""`convtrace check` on the mistakes real students make (tests/students_wild/): the report says
what the score counts, "returned None" for the untouched template, the evidence and the fix for
the right tensor (in Spanish too), the smallest failing case; --list-bugs --json; non-.py files
are refused."""

import json
from pathlib import Path

from convtrace.check.catalog import BUGS, PLANTED_IDS

WILD = Path(__file__).resolve().parents[1] / "students_wild"


def flat(text: str) -> str:
    return " ".join(text.split())


def test_list_bugs_json_is_the_catalog(invoke):
    result = invoke("check", "--list-bugs", "--json")
    assert result.exit_code == 0
    catalog = json.loads(result.stdout)["bugs"]
    assert [entry["id"] for entry in catalog] == list(BUGS)
    assert {e["id"] for e in catalog if e["plantable"]} == set(PLANTED_IDS)
    assert all(e["sentence"] and e["fix"] for e in catalog)


def test_a_file_that_is_not_python_is_refused_not_run(invoke, tmp_path):
    notes = tmp_path / "conv.txt"
    notes.write_text((WILD / "correct_layers.py").read_text())
    result = invoke("check", notes, "--api", "cs231n")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "not a Python file" in result.stderr


def test_the_untouched_template_is_said_to_return_none(invoke):
    result = invoke("check", WILD / "template_untouched.py", "--api", "cs231n")
    assert result.exit_code == 1
    out = flat(result.stdout)
    assert "returned None (out is None)" in out and "shape ()" not in out
    assert "diagnosis not-implemented" in out and "score 0 = % of the 27 cases" in out


def test_the_score_says_what_it_counts_and_the_contract_is_apart(invoke):
    result = invoke("check", WILD / "stride_must_divide.py", "--api", "cs231n")
    assert result.exit_code == 0, result.output
    last = flat(result.stdout.split("✓ 27 of 27")[-1])
    assert "cases pass · score 100 = % of the 27 cases inside the contract that pass" in last
    assert "3 outside the contract, not counted" in last and "note: stride-must-divide" in last
    assert "no known pattern" not in result.stdout


def test_dw_overwrite_class_gets_the_fix_for_dw(invoke):
    result = invoke("check", WILD / "dw_overwrite_class.py")
    assert result.exit_code == 1
    out = flat(result.stdout)
    assert "diagnosis dw-overwrite (convolution) wrong: dF" in out
    assert "fix: Accumulate: dW[f] += dout[n, f, i, j] * window" in out
    assert "no known pattern" not in out and "kernel-flipped" not in out


def test_dx_only_flip_is_not_called_a_forward_flip(invoke):
    result = invoke("check", WILD / "dx_kernel_flipped_class.py", "--json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 1 and doc["diagnosis"] == ["dx-kernel-flipped"]
    assert doc["findings"][0]["tensor"] == "dX"
    assert "In backward use W as it is" in doc["fixes"]["dx-kernel-flipped"]["fix"]
    assert all(c["checks"]["forward"] for c in doc["cases"])  # the forward is right


def test_evidence_smallest_case_and_spanish(invoke):
    path = WILD / "unpad_negative_slice.py"
    english = flat(invoke("check", path, "--api", "cs231n").stdout)
    assert "diagnosis unpad-negative-slice (convolution) wrong: dX" in english
    assert "every case with pad = 0 fails, every padded one passes" in english
    assert "smallest failing case" in english and "smallest: 1×1×1×1" in english
    assert "the expected first cell, as its sum" in english
    spanish = flat(invoke("check", path, "--api", "cs231n", "--lang", "es").stdout)
    assert "todo caso con pad = 0 falla, todo caso con relleno pasa" in spanish
    assert "Recorta con extremos explícitos" in spanish and "caso más pequeño que falla" in spanish


def test_a_python2_file_that_does_not_parse_is_graded_not_refused(invoke):
    result = invoke("check", WILD / "python2_print.py", "--api", "cs231n", "--json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 1 and doc["diagnosis"] == ["python2-code"]
    assert "print statement" in doc["findings"][0]["evidence"] and doc["score"] == 0


def test_a_folder_table_names_the_ids_and_the_grade_book_has_notes(invoke, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("correct_layers.py", "maxpool_overwrite.py", "stride_must_divide.py"):
        (folder / name).write_text((WILD / name).read_text())
    book = tmp_path / "grades.csv"
    result = invoke("check", folder, "--api", "cs231n", "--csv", book)
    assert result.exit_code == 1
    assert "maxpool-overwrite" in result.stdout and "2 of 3 files pass" in result.stdout
    lines = book.read_text().splitlines()
    assert lines[0] == "file,score,passed,first_failing_case,diagnosis,error,note,isolation"
    row = "stride_must_divide.py,100.0,yes,,stride-must-divide"
    assert any(line.startswith(row) for line in lines)


def test_catalog_ids_are_never_folded_in_the_case_table(invoke):
    """At a projector's 100 columns, in both languages, every failing row's note carries the
    id whole (it once came out as 'unpad-negative-sli' / 'ce') and no line is wider than 100."""
    for lang in ("en", "es"):
        result = invoke("check", WILD / "unpad_negative_slice.py", "--api", "cs231n",
                        "--lang", lang)  # fmt: skip
        assert result.exit_code == 1
        lines = result.stdout.splitlines()
        assert max(len(line) for line in lines) <= 100
        failing = [line for line in lines if line.split()[:1] and "✗" in line
                   and line.split()[0] in ("worked", "s1-valid-odd", "kernel-1")]  # fmt: skip
        assert len(failing) == 3, lines[:12]
        assert all(line.rstrip().endswith("unpad-negative-slice") for line in failing), failing
