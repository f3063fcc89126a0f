"""Gradescope's autograder ``results.json`` for one graded file (plain data).

One test per case inside the API's contract (``name``, ``number``, ``score``, ``max_score``,
``status``, ``output`` in Markdown, ``visibility``); the top level carries the total ``score``
(out of 100), the ``execution_time``, a Markdown ``output`` with the diagnosis, its fix and the
smallest failing case, and ``stdout_visibility``. Keys stay English; the text is in the current
language (``i18n.language``). A file that could not be graded gets a readable document, score 0.
"""

from __future__ import annotations

from ..i18n import _
from .catalog import BUGS
from .escape import visible
from .grade import LABELS, CaseResult, FileResult
from .report import atomic_write, finite

OUTPUT_FORMAT = "md"


def _code(text) -> str:
    """Student-supplied text inside Markdown: escaped, in a code span that cannot be closed."""
    return "`` " + visible(text, width=200).replace("`", "'") + " ``"


def _case_output(r: CaseResult) -> str:
    if r.passed:
        return _("Every tensor matches PyTorch.")
    if r.status != "ok":
        return _("Did not run: {status}").format(status=r.status) + (
            "\n\n" + _code(r.message) if r.message else ""
        )
    lines = []
    wrong = [LABELS[k] for k, v in r.checks.items() if v is False]
    lines.append(_("Wrong: {tensors}").format(tensors=", ".join(wrong)))
    component = r.first_wrong()
    cell = None if component is None else r.first_wrong_cell(component)
    if cell is not None:
        lines.append(
            _("First wrong cell: {tensor}[{cell}] is {got}, PyTorch gives {expected}").format(
                tensor=LABELS[component],
                cell=", ".join(str(i) for i in cell),
                got=finite(r.got[component][cell]),
                expected=finite(r.expected[component][cell]),
            )
        )
    elif component is not None:
        lines.append(_("{tensor} has the wrong shape").format(tensor=LABELS[component]))
    for bug in r.diagnosis:
        lines.append(_(BUGS[bug].sentence))
    return "\n\n".join(lines)


def _summary(result: FileResult) -> str:
    if result.error is not None:
        return "\n\n".join(
            [_("**Your file could not be graded.**"), _code(_(result.error)), _("Score: 0.")]
        )
    parts = [] if result.remark is None else [_(result.remark)]
    if result.passed:
        parts.append(_("**Every case matches PyTorch.**"))
    if result.load_failure is not None:
        parts.append(_("**Your file does not run:**") + " " + _code(_(result.load_failure)))
    for bug in result.diagnosis + result.notes:
        parts.append(_("**Diagnosis:** {sentence}").format(sentence=_(BUGS[bug].sentence)))
        parts.append(_("**Fix:** {fix}").format(fix=_(BUGS[bug].fix)))
    if result.failed and not result.diagnosis:
        parts.append(_("No known mistake explains the failures: read the first failing case."))
    smallest = result.smallest or result.first_failure()
    if smallest is not None:
        parts.append(
            _("**Smallest failing case:** {case}").format(case=_code(smallest.case.describe()))
        )
        parts.append(_case_output(smallest))
    return "\n\n".join(parts)


def gradescope_document(result: FileResult, hide_cases: bool = False, seconds: float = 0.0) -> dict:
    """The ``results.json`` document for ``result`` (cases hidden from students if asked)."""
    counted = [] if result.error is not None else result.counted
    each = 100.0 / len(counted) if counted else 0.0
    tests = []
    for number, r in enumerate(counted, 1):
        passed = r.passed and not result.load_failure
        tests.append(
            {
                "name": f"{r.case.name}: {r.case.describe()}",
                "number": str(number),
                "score": each if passed else 0.0,
                "max_score": each,
                "status": "passed" if passed else "failed",
                "output": _case_output(r),
                "output_format": OUTPUT_FORMAT,
                "visibility": "hidden" if hide_cases else "visible",
            }
        )
    score = 0.0 if result.error is not None else float(result.score)
    return {
        "score": score,
        "execution_time": round(float(seconds), 3),
        "output": _summary(result),
        "output_format": OUTPUT_FORMAT,
        "stdout_visibility": "hidden",
        "visibility": "visible",
        "tests": tests,
        # for `check --summarize` over a folder of results.json: ids and verdicts (English)
        "extra_data": {
            "convtrace": {
                "file": visible(result.path, width=500),
                "diagnosis": result.diagnosis,
                "notes": result.notes,
                "cases": [
                    {
                        "name": r.case.name,
                        "passed": r.passed,
                        "in_contract": True,
                        "checks": {LABELS[k]: v for k, v in r.checks.items()},
                    }
                    for r in counted
                ],  # fmt: skip
            }
        },
    }


def unreadable_document(why: str, seconds: float = 0.0) -> dict:
    """The document for a submission that could not even be handed to the grader (no file,
    not Python): score 0 and the reason, so the student reads why."""
    text = "\n\n".join([_("**Your file could not be graded.**"), _code(why), _("Score: 0.")])
    return {
        "score": 0.0,
        "execution_time": round(float(seconds), 3),
        "output": text,
        "output_format": OUTPUT_FORMAT,
        "stdout_visibility": "hidden",
        "visibility": "visible",
        "tests": [],
    }


def write_results(doc: dict, folder: str) -> str:
    """``folder/results.json``, atomically (a temporary file beside it, then a rename)."""
    import json
    import os

    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "results.json")
    with atomic_write(path, ".results-", perms=0o644) as handle:
        json.dump(doc, handle, allow_nan=False, ensure_ascii=False, indent=1)
    return path
