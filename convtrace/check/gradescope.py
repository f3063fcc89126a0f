"""Gradescope's autograder ``results.json`` for one graded file (plain data).

One test per case inside the API's contract (``name``, ``number``, ``score``, ``max_score``,
``status``, ``output`` in Markdown, ``visibility``); the top level carries the total ``score``
(out of 100), the ``execution_time``, a Markdown ``output`` with the diagnosis, its fix and the
smallest failing case, and ``stdout_visibility``. Keys stay English; the text is in the current
language (``i18n.language``). A file that could not be graded gets a readable document, score 0.
"""

from __future__ import annotations

import numpy as np

from ..i18n import _
from .catalog import BUGS
from .cellsum import markdown_sum
from .escape import visible
from .grade import LABELS, CaseResult, FileResult
from .report import atomic_write, finite

OUTPUT_FORMAT = "md"
#: the most points one graded function may be worth (--points)
MAX_POINTS = 10_000


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
        written = markdown_sum(r, component, cell, got=r.got[component][cell])
        if written is not None:
            lines += [_("The right value, as its sum with the case's numbers:"), written]
    elif component is not None:
        lines.append(_("{tensor} has the wrong shape").format(tensor=LABELS[component]))
        first = (0,) * np.ndim(r.expected[component])  # no aligned cell: the expected first
        written = markdown_sum(r, component, first) if np.size(r.expected[component]) else None
        if written is not None:
            lines += [_("Its first cell, as PyTorch computes it:"), written]
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


def parse_points(text: str, api: str) -> dict[str, float]:
    """``conv=50,pool=20,affine=15,relu=15`` -> points per graded function (a report section:
    ``conv``, ``pool``, ``affine``, ``relu``, ``bn``, ``sbn``; ``conv`` alone for the course's
    class). Raises ValueError with a sentence naming what is wrong."""
    import math

    from .cases import SECTIONS

    allowed = tuple(SECTIONS) if api == "cs231n" else ("conv",)
    points: dict[str, float] = {}
    for part in (p.strip() for p in str(text).split(",")):
        kind, sep, value = part.partition("=")
        kind = kind.strip().lower()
        if not sep or kind not in allowed:
            raise ValueError(
                _("--points {part!r}: give KIND=POINTS with KIND one of {allowed}").format(
                    part=part, allowed=", ".join(allowed)
                )
            )
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        # a bound keeps the total finite: results.json cannot hold an infinite score
        if not 0 <= number <= MAX_POINTS or kind in points:
            raise ValueError(
                _("--points {part!r}: each kind once, with 0 to {most:,} points").format(
                    part=part, most=MAX_POINTS
                )
            )
        points[kind] = number
    return points


def _max_scores(counted: list[CaseResult], points: dict[str, float] | None) -> list[float]:
    """Each counted case's share: 100 split evenly, or its kind's points split among its cases
    (a kind the points do not name is worth 0)."""
    if points is None:
        return [100.0 / len(counted)] * len(counted) if counted else []
    from collections import Counter

    per_kind = Counter(r.case.spec.kind for r in counted)
    return [points.get(r.case.spec.kind, 0.0) / per_kind[r.case.spec.kind] for r in counted]


def _absent(counted: list[CaseResult], points: dict[str, float]) -> list[tuple[str, float]]:
    """The kinds the points name that the submission has no case of (function not found)."""
    from .cases import SECTIONS

    present = {r.case.spec.kind for r in counted}
    return [(SECTIONS[k], v) for k, v in points.items() if k not in present and v > 0]


def _test(name: str, number: int, worth: float, passed: bool, output: str, visibility: str):
    """One entry of ``tests``: all of ``worth`` when passed, none otherwise."""
    return {
        "name": name,
        "number": str(number),
        "score": worth if passed else 0.0,
        "max_score": worth,
        "status": "passed" if passed else "failed",
        "output": output,
        "output_format": OUTPUT_FORMAT,
        "visibility": visibility,
    }


def gradescope_document(
    result: FileResult, hide_cases: bool = False, seconds: float = 0.0, points=None
) -> dict:
    """The ``results.json`` document for ``result`` (cases hidden from students if asked).

    points: points per graded function (``parse_points``), or None for a score out of 100
    shared evenly by the cases."""
    counted = [] if result.error is not None else result.counted
    tests = []
    for r, each in zip(counted, _max_scores(counted, points), strict=True):
        passed = r.passed and not result.load_failure
        tests.append(_test(f"{r.case.name}: {r.case.describe()}", len(tests) + 1, each, passed,
                           _case_output(r), "hidden" if hide_cases else "visible"))  # fmt: skip
    for section, worth in _absent(counted, points or {}) if counted else []:
        why = _("Not found in your file: nothing of {section} was graded.")
        tests.append(_test(_(section), len(tests) + 1, worth, False,
                           why.format(section=_(section)), "visible"))  # fmt: skip
    if result.error is not None:
        score = 0.0
    elif points is None:
        score = float(result.score)
    else:  # what Gradescope would add up itself, said once
        score = round(sum(t["score"] for t in tests), 4)
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
