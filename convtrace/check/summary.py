"""``convtrace check --summarize RESULTS...``: a class's results gathered (plain data).

Reads what ``check`` writes: the ``--csv`` grade book, the ``--json`` document (one file or a
folder's), and Gradescope ``results.json`` files (``--gradescope``; a folder of them is
searched). Each submission becomes a record (file, score, catalog ids, notes, and when the
source has them the cases with their tensors' verdicts); the summary counts the students
behind each catalog mistake, the failure rate of each case and tensor, and the score
histogram. The grade book's diagnosis column holds the notes too (``stride-must-divide``):
from it they count as mistakes; the JSON sources keep them apart.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter, defaultdict

from ..i18n import _
from .catalog import BUGS


class SummaryError(ValueError):
    """A RESULTS file that is none of check's outputs."""


def _record(file, score, diagnosis, cases=None, notes=()) -> dict:
    return {"file": str(file), "score": float(score or 0.0), "diagnosis": list(diagnosis),
            "cases": cases, "notes": list(notes)}  # fmt: skip


def _from_document(doc: dict) -> dict:
    cases = {
        c["name"]: {"passed": bool(c["passed"]), "tensors": dict(c.get("checks") or {})}
        for c in doc.get("cases", [])
        if c.get("in_contract", True)
    }
    return _record(doc.get("file"), doc.get("score"), doc.get("diagnosis", []), cases,
                   doc.get("notes", []))  # fmt: skip


def _from_gradescope(doc: dict, path: str) -> dict:
    extra = doc.get("extra_data") or {}
    if "convtrace" in extra:
        return _from_document({**extra["convtrace"], "score": doc.get("score")})
    cases = {t["name"].split(":")[0]: {"passed": t["status"] == "passed", "tensors": {}}
             for t in doc.get("tests", [])}  # fmt: skip
    return _record(path, doc.get("score"), [], cases)


def _read_json(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    if isinstance(doc, dict) and "files" in doc:
        return [_from_document(d) for d in doc["files"]]
    if isinstance(doc, dict) and "tests" in doc:
        return [_from_gradescope(doc, path)]
    if isinstance(doc, dict) and "cases" in doc:
        return [_from_document(doc)]
    raise SummaryError(_("{path}: not a convtrace check JSON or results.json").format(path=path))


def _read_csv(path: str) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"file", "score", "diagnosis"} <= set(rows[0]):
        raise SummaryError(_("{path}: not a convtrace grade book").format(path=path))
    return [_record(r["file"].lstrip("'"), r["score"].lstrip("'") or 0, r["diagnosis"].split())
            for r in rows]  # fmt: skip


def load(paths) -> list[dict]:
    """Every submission's record in the RESULTS given (files, or folders of results.json)."""
    records = []
    for path in paths:
        path = str(path)
        if os.path.isdir(path):
            found = sorted(
                os.path.join(root, name)
                for root, _dirs, names in os.walk(path)
                for name in names
                if name == "results.json"
            )
            if not found:
                raise SummaryError(_("{path}: no results.json in this folder").format(path=path))
            for name in found:
                records += _read_json(name)
        elif path.endswith(".csv"):
            records += _read_csv(path)
        else:
            try:
                records += _read_json(path)
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                if isinstance(error, SummaryError):
                    raise
                raise SummaryError(_("{path}: cannot be read: {error}").format(
                    path=path, error=error)) from None  # fmt: skip
    return records


def summarize(records: list[dict]) -> dict:
    """The class report as data (keys and ids English; sentences in the current language)."""
    students = len(records)
    files = defaultdict(list)
    for r in records:
        for bug in dict.fromkeys(r["diagnosis"]):
            files[bug].append(r["file"])
    mistakes = [
        {"id": bug, "students": len(names), "files": sorted(names),
         "sentence": _(BUGS[bug].sentence) if bug in BUGS else ""}
        for bug, names in sorted(files.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]  # fmt: skip
    noted = Counter(n for r in records for n in dict.fromkeys(r["notes"]))
    with_cases = [r for r in records if r["cases"]]
    seen, failed = Counter(), Counter()
    tensor_seen, tensor_failed = Counter(), Counter()
    for r in with_cases:
        for name, case in r["cases"].items():
            seen[name] += 1
            failed[name] += not case["passed"]
            for tensor, ok in case["tensors"].items():
                if ok is not None:
                    tensor_seen[tensor] += 1
                    tensor_failed[tensor] += ok is False
    bins = Counter(min(int(r["score"] // 10), 9) for r in records)
    return {
        "students": students,
        "passed": sum(r["score"] >= 100.0 for r in records),
        "mistakes": mistakes,
        "notes": [{"id": n, "students": c} for n, c in sorted(noted.items())],
        "no_diagnosis_below_100": sorted(r["file"] for r in records
                                         if r["score"] < 100.0 and not r["diagnosis"]),
        "cases": [{"case": n, "submissions": seen[n], "failed": failed[n],
                   "rate": failed[n] / seen[n]} for n in seen],
        "tensors": [{"tensor": t, "checks": tensor_seen[t], "failed": tensor_failed[t],
                     "rate": tensor_failed[t] / tensor_seen[t]} for t in tensor_seen],
        "histogram": [{"from": 10 * b, "to": 10 * b + 10, "students": bins.get(b, 0)}
                      for b in range(10)],
    }  # fmt: skip
