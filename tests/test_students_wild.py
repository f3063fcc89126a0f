"""The grader on our own student-style files (tests/students_wild/, one per mistake seen in
real CS231n submissions; see docs/student-mistakes.md): its verdict agrees with an independent
torch judge (scripts/torch_judge.py, no convtrace), and it names exactly the expected mistake."""

import importlib.util
import sys
from pathlib import Path

import pytest

from convtrace.check.cases import build_battery, torch_reference
from convtrace.check.grade import CheckOptions, grade_file

WILD = Path(__file__).resolve().parent / "students_wild"
ROOT = Path(__file__).resolve().parents[1]

#: file -> the ids a teacher reading the code would name (empty: the file is correct)
EXPECTED = {
    "correct_layers.py": [],
    "unpad_negative_slice.py": ["unpad-negative-slice"],
    "unpad_broadcast.py": ["unpad-negative-slice"],
    "padding_zero_branch.py": ["padding-zero-branch"],
    "padding_hardcoded.py": ["padding-hardcoded"],
    "height_width_swapped.py": ["height-width-swapped"],
    "kernel_slice_swapped.py": ["height-width-swapped"],
    "pool_height_width.py": ["height-width-swapped"],
    "stride_dx_only.py": ["stride-ignored"],
    "dx_left_zeros.py": ["not-implemented"],
    "backward_not_implemented.py": ["not-implemented"],
    "assert_false.py": ["not-implemented"],
    "template_untouched.py": ["not-implemented"],
    "python2_print.py": ["python2-code"],
    "python2_xrange.py": ["python2-code"],
    "numpy_int.py": ["numpy-removed-name"],
    "numpy_product.py": ["numpy-removed-name"],
    "maxpool_overwrite.py": ["maxpool-overwrite"],
    "affine_not_flattened.py": ["affine-not-flattened"],
    "stride_must_divide.py": [],  # correct within the contract: full score and a note
    "relu_forgets_dout.py": [],  # wrong, but no catalog entry fits: "no known pattern"
    "batchnorm_correct.py": [],
    "bn_test_no_eps.py": ["bn-test-eps-missing"],
    "bn_eps_outside_sqrt.py": ["bn-eps-misplaced"],
    "bn_running_var_std.py": ["bn-running-var-std"],
    "bn_spatial_shared_param.py": ["bn-spatial-shared-param"],
    "bn_test_batch_stats.py": [],  # wrong in test mode, no catalog entry: "no known pattern"
}
CLASSES = {
    "conv_class_correct.py": [],
    "dw_overwrite_class.py": ["dw-overwrite"],
    "dx_kernel_flipped_class.py": ["dx-kernel-flipped"],
}


def _judge():
    path = ROOT / "scripts" / "torch_judge.py"
    spec = importlib.util.spec_from_file_location("torch_judge", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def battery():
    cases = build_battery("cs231n")
    return cases, [torch_reference(c) for c in cases]


def test_every_student_file_is_listed():
    assert {p.name for p in WILD.glob("*.py")} == set(EXPECTED) | set(CLASSES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_verdict_agrees_with_the_torch_judge_and_the_id_is_right(battery, name):
    cases, references = battery
    result = grade_file(WILD / name, cases, references, CheckOptions(api="cs231n", shrink=False))
    assert result.error is None, result.error
    saved = list(sys.path)
    try:
        verdicts = _judge().judge_file(str(WILD / name))
    finally:
        sys.path[:] = saved
    judged_pass = all(v["verdict"] != "fail" for v in verdicts.values())
    assert result.passed == judged_pass, (verdicts, result.diagnosis)
    assert result.diagnosis == EXPECTED[name]
    if not result.passed and not EXPECTED[name]:
        assert result.unexplained  # an honest "no known pattern", never a guess
    if name == "stride_must_divide.py":
        assert result.score == 100 and result.notes == ["stride-must-divide"]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_course_classes_from_the_issue(name):
    cases = build_battery("course")
    references = [torch_reference(c) for c in cases]
    result = grade_file(WILD / name, cases, references, CheckOptions(shrink=False))
    assert result.passed == (not CLASSES[name])
    assert result.diagnosis == CLASSES[name]
    assert not result.unexplained


def test_the_smallest_failing_case_still_fails_and_is_small(battery):
    cases, references = battery
    options = CheckOptions(api="cs231n")
    result = grade_file(WILD / "unpad_negative_slice.py", cases, references, options)
    small = result.smallest
    assert small is not None and not small.passed and small.counted
    assert small.case.x.size < result.first_failure().case.x.size
    assert small.case.pads[0][0] == 0  # still pad 0: the evidence's own condition
    assert small.checks["dX"] is False and small.checks["out"] is True
