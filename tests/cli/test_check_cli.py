"""`convtrace check`: a correct class passes, every catalog bug planted into it is named, hostile
submissions fail their case without stopping the run, bad input is exit 2."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from convtrace.check.catalog import BUGS, PLANTED_IDS

STUDENTS = Path(__file__).resolve().parents[2] / "examples" / "students"
CORRECT = (STUDENTS / "correct.py").read_text()

# Each bug planted into the correct class by replacing text (each `old` occurs exactly once).
PLANTS = {
    "kernel-flipped": [
        ("np.tensordot(window, self.W,", "np.tensordot(window, self.W[:, :, ::-1, ::-1],")
    ],
    "stride-ignored": [  # backward only: its windows start at (i, j)
        (
            "g = dLdO[:, :, i, j]  # (N, F)",
            "r, c = i, j\n"
            "                window = self.Xp[:, :, r : r + self.k, c : c + self.k]\n"
            "                g = dLdO[:, :, i, j]",
        )
    ],
    "same-padding-symmetric": [
        ("pads += [total // 2, total - total // 2]", "pads += [(self.k - 1) // 2] * 2")
    ],  # noqa: E501
    "padding-not-removed": [("dLdX = dLdXp[:, :, top : top + H, left : left + W]", "dLdX = dLdXp")],
    "overwrite-not-accumulate": [
        ("c : c + self.k] += np.tensordot(", "c : c + self.k] = np.tensordot(")
    ],  # noqa: E501
    "grad-not-summed-over-batch": [
        ("dLdF += np.tensordot(g, window", "dLdF += np.tensordot(g[:1], window[:1]")
    ],  # noqa: E501
    "channels-last-output": [
        (
            "return O + self.b.reshape(1, -1, 1, 1)",
            "return (O + self.b.reshape(1, -1, 1, 1)).transpose(0, 2, 3, 1)",
        ),  # noqa: E501
        (
            "N, C, H, W = self.X_shape\n",
            "N, C, H, W = self.X_shape\n        dLdO = dLdO.transpose(0, 3, 1, 2)\n",
        ),  # noqa: E501
    ],
    "dF-dX-swapped": [("return dLdF, dLdX", "return dLdX, dLdF")],
    "weights-reinitialised": [("if self.W is None:", "if True:")],
}


def planted(tmp_path, name, replacements, source=CORRECT):
    for old, new in replacements:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def check_json(invoke, *args):
    result = invoke("check", *args, "--json")
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def test_every_catalog_bug_has_a_plant():
    assert set(PLANTS) == set(PLANTED_IDS) and set(PLANTED_IDS) < set(BUGS)


def test_the_correct_solution_passes_every_case(invoke):
    result = invoke("check", STUDENTS / "correct.py", "--class", "Conv2D")
    assert result.exit_code == 0, result.output
    assert "✗" not in result.stdout
    assert "✓ 14 of 14 cases pass · score 100 = % of the 14 cases inside" in result.stdout
    assert "(10, 8, 4, 4)" not in result.stdout  # no failure panel
    assert all(len(line) <= 100 for line in result.stdout.splitlines())
    _, doc = check_json(invoke, STUDENTS / "correct.py")
    assert doc["score"] == 100 and doc["diagnosis"] == [] and doc["passed"]
    exercise = next(c for c in doc["cases"] if c["name"] == "exercise")
    assert exercise["shapes"]["forward"]["expected"] == [10, 8, 4, 4]
    assert all(all(c["checks"].values()) for c in doc["cases"])


@pytest.mark.parametrize("bug", sorted(PLANTS))
def test_each_planted_bug_is_named(invoke, tmp_path, bug):
    path = planted(tmp_path, bug.replace("-", "_"), PLANTS[bug])
    result, doc = check_json(invoke, path)
    assert result.exit_code == 1, result.output
    assert doc["diagnosis"] == [bug]
    assert not doc["passed"] and doc["score"] < 100


def test_the_report_shows_the_first_failure_with_fix_and_sum(invoke):
    result = invoke("check", STUDENTS / "stride_ignored.py")
    assert result.exit_code == 1
    out = result.stdout
    assert "first wrong cell dF[0,0,0,0]: expected" in out
    assert "diagnosis stride-ignored" in out and "fix:" in out
    assert "smallest failing case" in out  # the first wrong cell of the shrunk case, as its sum
    assert "grad.conv.weight[" in out.split("smallest failing case")[1] and "✓ torch:" in out
    assert "diagnosis: stride-ignored" in " ".join(out.split("✗ ")[-1].split())  # summary
    assert all(len(line) <= 100 for line in out.splitlines())


@pytest.mark.parametrize(
    "name, bug",
    [
        ("stride_ignored", "stride-ignored"),
        ("padding_not_removed", "padding-not-removed"),
        ("overwrite", "overwrite-not-accumulate"),
    ],
)
def test_the_buggy_examples_get_their_diagnosis(invoke, name, bug):
    result, doc = check_json(invoke, STUDENTS / f"{name}.py")
    assert result.exit_code == 1
    assert doc["diagnosis"] == [bug]


@pytest.mark.slow  # seconds: left out of the quick subset (pytest -m "not slow")
def test_cs231n_api(invoke, tmp_path):
    path = STUDENTS / "cs231n_layers.py"
    result, doc = check_json(invoke, path, "--api", "cs231n")
    assert result.exit_code == 0, result.output
    assert doc["score"] == 100
    names = [c["name"] for c in doc["cases"]]
    pools = ["pool-2x2", "pool-3x3-s2", "pool-2x2-s1", "pool-wide-2x2", "pool-2x3-s1"]
    assert names[20:25] == pools  # max pooling is present
    assert doc["cases"][-1]["checks"] == {"forward": True, "dF": None, "dX": True, "db": None}
    source = path.read_text()
    pool_bug = planted(tmp_path, "pool", [("+ v] += dout", "+ v] = dout")], source)
    result, doc = check_json(invoke, pool_bug, "--api", "cs231n")
    failing = {c["name"]: c for c in doc["cases"] if not c["passed"]}
    overlapping = {"pool-3x3-s2", "pool-2x2-s1", "pool-2x3-s1"}
    assert result.exit_code == 1 and set(failing) == overlapping
    assert doc["diagnosis"] == ["maxpool-overwrite"]  # every overlapping case fails, no other
    bad = planted(
        tmp_path,
        "mean",
        [("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(2, 3)).mean(axis=0)")],
        source,
    )  # noqa: E501
    result, doc = check_json(invoke, bad, "--api", "cs231n")
    assert result.exit_code == 1 and doc["diagnosis"] == ["grad-not-summed-over-batch"]
    renamed = planted(
        tmp_path,
        "renamed",
        [("def conv_forward_naive", "def fwd"), ("def conv_backward_naive", "def bwd")],
        source,
    )  # noqa: E501
    result, _ = check_json(invoke, renamed, "--api", "cs231n", "--function", "fwd,bwd")
    assert result.exit_code == 0, result.output
    result = invoke("check", renamed, "--api", "cs231n")
    assert result.exit_code == 2 and "has no function conv_forward_naive" in result.stderr


HOSTILE = """
        import os, sys
        key = (N, C, H)
        if key == (1, 1, 6):          # worked: loops forever
            while True:
                pass
        if key == (10, 4, 7):         # exercise: 50 GB
            big = np.ones(50 * 10**9 // 8)
        if key == (1, 1, 7):          # s1-valid-odd: the process vanishes
            os._exit(3)
        if key == (3, 3, 7) and self.k == 5:
            sys.exit(4)
        if key == (3, 3, 8) and self.k == 2:
            raise IndexError("index 9 is out of bounds")
        if key == (3, 1, 8) and self.k == 2:
            for _ in range(20000):
                print("x" * 1000)
        if key == (3, 3, 7) and self.s == 2:
            with open(OUTSIDE, "w") as handle:
                handle.write("written by the student")
"""


@pytest.mark.slow  # seconds: left out of the quick subset (pytest -m "not slow")
def test_hostile_code_fails_its_case_and_grading_goes_on(invoke, tmp_path, monkeypatch):
    sandboxes = tmp_path / "tmp"
    sandboxes.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(sandboxes))
    outside = tmp_path / "outside.txt"
    source = CORRECT.replace(
        "import numpy as np\n", f"import numpy as np\n\nOUTSIDE = {str(outside)!r}\n"
    )
    path = planted(
        tmp_path,
        "hostile",
        [("        N, C, H, W = X.shape\n", "        N, C, H, W = X.shape\n" + HOSTILE)],
        source,
    )  # noqa: E501
    result, doc = check_json(invoke, path, "--timeout", "2")
    assert result.exit_code == 1, result.output
    cases = {c["name"]: c for c in doc["cases"]}
    assert len(cases) == 14
    assert cases["worked"]["message"] == "timed out after 2 s"
    assert cases["exercise"]["message"].startswith("raised MemoryError")
    assert "exited with code 3" in cases["s1-valid-odd"]["message"]
    assert cases["s1-same-odd"]["message"] == "called sys.exit(4)"
    message = cases["s1-valid-even"]["message"]
    assert message.startswith("raised IndexError: index 9 is out of bounds at line ")
    assert int(message.rsplit(" ", 1)[1]) == planted_line(path, "raise IndexError")
    flood = cases["s1-same-even"]
    assert flood["passed"] and flood["printed_bytes"] == 2 * 20000 * 1001  # forward runs twice
    # no bytes to any file: the size limit (OSError) or, in namespaces, no such path at all
    assert cases["s2-valid-odd"]["message"].startswith(("raised OSError", "raised FileNotFound"))
    assert not outside.exists() or outside.read_text() == ""
    for name in ("s2-same-odd", "s2-valid-even", "s2-same-even", "kernel-1", "kernel-1-s2-same"):
        assert cases[name]["passed"], name
    assert list(sandboxes.iterdir()) == []  # every sandbox directory was removed


def planted_line(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.slow  # seconds: left out of the quick subset (pytest -m "not slow")
def test_a_folder_is_graded_file_by_file_with_a_grade_book(invoke, tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "a_correct.py").write_text(CORRECT)
    (folder / "b_broken.py").write_text("def oops(:\n")
    (folder / "c_swapped.py").write_text(CORRECT.replace("return dLdF, dLdX", "return dLdX, dLdF"))
    (folder / "notes.txt").write_text("not python")
    grades = tmp_path / "grades.csv"
    result = invoke("check", folder, "--class", "Conv2D", "--csv", grades)
    assert result.exit_code == 1, result.output
    rows = [line.split(",") for line in grades.read_text().splitlines()]
    header = ["file", "score", "passed", "first_failing_case", "diagnosis", "error", "note"]
    assert rows[0] == [*header, "isolation"]
    assert [r[0] for r in rows[1:]] == ["a_correct.py", "b_broken.py", "c_swapped.py"]
    assert rows[1][1:4] == ["100.0", "yes", ""]
    assert rows[2][2] == "no" and "SyntaxError" in rows[2][5] and "line 1" in rows[2][5]
    assert rows[3][2:5] == ["no", "worked", "dF-dX-swapped"]
    assert "1 of 3 files pass every case" in result.stdout
    result = invoke("check", folder, "--json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 1 and [Path(f["file"]).name for f in doc["files"]] == [
        "a_correct.py",
        "b_broken.py",
        "c_swapped.py",
    ]
    assert [f["diagnosis"] for f in doc["files"]] == [[], [], ["dF-dX-swapped"]]
    assert doc["files"][1]["error"].startswith("raised SyntaxError")


@pytest.mark.parametrize(
    "args, source, message",
    [
        (["nope.py"], None, "nope.py does not exist"),
        (["{file}", "--class", "Conv"], CORRECT, "has no class Conv (it defines: Conv2D)"),
        (["{file}"], CORRECT.replace("stride=1, padding=", "padding="), "cannot be called as"),
        (
            ["{file}"],
            CORRECT.replace(
                "self.W = np.random.randn(self.F, C, self.k, self.k) * 0.1",
                "self.W = np.random.randn(self.F, C, self.k, self.k).tolist()",
            ),
            "found no weights",
        ),  # noqa: E501
        (
            ["{file}"],
            CORRECT.replace(
                "self.b = np.zeros(filters)", "self.b = np.zeros(filters)\n        self.W2 = None"
            ).replace("self.W = np.random.randn", "self.W2 = self.W = np.random.randn"),
            "several attributes look like the weights (W, W2)",
        ),  # noqa: E501
        (["{file}", "--weight-attr", "kernel"], CORRECT, "--weight-attr kernel"),
        (["{file}"], "import sys\nsys.exit(2)\n", "called sys.exit(2) while loading"),
        (["{file}", "--api", "cs231n", "--function", "a"], CORRECT, "--function 'a'"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(invoke, tmp_path, args, source, message):
    file = tmp_path / "student.py"
    if source is not None:
        file.write_text(source)
    result = invoke("check", *[a.format(file=file) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], lines


def test_weight_and_bias_attributes_can_be_named(invoke, tmp_path):
    source = CORRECT.replace(
        "self.b = np.zeros(filters)",
        "self.b = np.zeros(filters)\n        self.b2 = np.zeros(filters)",
    )  # noqa: E501
    path = planted(tmp_path, "two_biases", [], source)
    result = invoke("check", path)
    assert (
        result.exit_code == 2 and "several attributes look like the bias (b, b2)" in result.stderr
    )
    result = invoke("check", path, "--bias-attr", "b", "--weight-attr", "W")
    assert result.exit_code == 0, result.output


def test_list_bugs_prints_the_catalog(invoke):
    result = invoke("check", "--list-bugs")
    assert result.exit_code == 0
    for bug in BUGS.values():
        assert bug.id in result.stdout
    assert result.stdout.count("fix:") == len(BUGS)


def test_check_help_never_imports_torch_or_the_grader():
    code = (
        "import sys\n"
        "from convtrace.cli.main import app\n"
        "try:\n"
        "    app(['check', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.exit(3 if {'torch', 'convtrace.check.grade'} & set(sys.modules) else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_each_submission_is_graded_alone_and_our_modules_are_not_importable(invoke, tmp_path):
    # the folder beside a submission (its classmates) is never on sys.path
    (tmp_path / "helpers.py").write_text("import numpy as np\nPAD = np.pad\n")
    source = "from helpers import PAD\n" + CORRECT.replace("np.pad(X,", "PAD(X,")
    path = planted(tmp_path, "uses_helpers", [], source)
    result = invoke("check", path)
    assert result.exit_code == 2 and "the grader does not have: helpers" in result.stderr
    shadow = planted(tmp_path, "shadow", [], "import grade\n" + CORRECT)  # our worker's neighbour
    result = invoke("check", shadow)
    assert result.exit_code == 2 and "the grader does not have: grade" in result.stderr


def test_a_class_without_a_bias_is_graded_without_one(invoke, tmp_path):
    path = planted(
        tmp_path,
        "no_bias",
        [
            ("        self.b = np.zeros(filters)\n", ""),
            ("return O + self.b.reshape(1, -1, 1, 1)", "return O"),
            ("        self.dLdb = dLdO.sum(axis=(0, 2, 3))\n", ""),
        ],
    )
    result, doc = check_json(invoke, path)
    assert result.exit_code == 0, result.output
    assert all(c["checks"]["db"] is None for c in doc["cases"])
    flipped = path.read_text().replace(
        "np.tensordot(window, self.W,", "np.tensordot(window, self.W[:, :, ::-1, ::-1],"
    )  # noqa: E501
    result, doc = check_json(invoke, planted(tmp_path, "no_bias_flipped", [], flipped))
    assert result.exit_code == 1 and doc["diagnosis"] == ["kernel-flipped"]
    out = invoke("check", tmp_path / "no_bias_flipped.py").stdout
    assert "✓ torch: " in out and "✗ torch" not in out  # the sum without a bias is torch's


def test_a_stride_ignored_everywhere_is_named_too(invoke, tmp_path):
    source = CORRECT.replace(
        "self.F, self.k, self.s, self.padding = filters, kernel_size, stride, padding",
        "self.F, self.k, self.s, self.padding = filters, kernel_size, 1, padding",
    )  # noqa: E501
    result, doc = check_json(invoke, planted(tmp_path, "stride_one", [], source))
    assert result.exit_code == 1 and doc["diagnosis"] == ["stride-ignored"]
    exercise = next(c for c in doc["cases"] if c["name"] == "exercise")
    assert exercise["shapes"]["forward"] == {"expected": [10, 8, 4, 4], "got": [10, 8, 7, 7]}


@pytest.mark.parametrize("method", ["im2col", "loop"])
def test_convtraces_own_layer_passes_the_check(invoke, tmp_path, method):
    source = (
        "from convtrace import Conv2D as Layer\n\n\n"
        "class Conv2D(Layer):\n"
        "    def __init__(self, filters, kernel_size, stride, padding):\n"
        f"        super().__init__(filters, kernel_size, stride, padding, method={method!r})\n"
    )
    result, doc = check_json(invoke, planted(tmp_path, f"ours_{method}", [], source))
    assert result.exit_code == 0, result.output
    assert all(c["checks"]["db"] for c in doc["cases"])  # grad_bias is found and graded
