"""The ``--json`` document and the ``--csv`` grade book of ``convtrace check`` (plain data).

The JSON is strict (a student's NaN or infinity is ``null``); every text cell of the grade book
goes through ``escape.csv_cell`` (control characters visible, formulas defused), and the file
is written to a temporary file beside it, then renamed: a reader never sees half a grade book.
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from contextlib import contextmanager

import numpy as np

from .cases import RTOL
from .catalog import BUGS, CATALOG
from .escape import csv_cell, visible
from .grade import COMPONENTS, LABELS, RUNNING, CaseResult, FileResult


def _shape(a) -> list[int] | None:
    return None if a is None else [int(n) for n in np.shape(a)]


def finite(value) -> float | None:
    """A float for strict JSON: NaN and ±inf are null."""
    value = float(value)
    return value if math.isfinite(value) else None


def strict_json(doc) -> str:
    """``json.dumps`` that refuses NaN (none should be left: ``finite`` maps them to null)."""
    return json.dumps(doc, allow_nan=False)


def case_document(r: CaseResult) -> dict:
    doc = {
        "name": r.case.name,
        "kind": r.case.spec.kind,
        "geometry": str(r.case.describe()),
        "in_contract": r.counted,
        "status": r.status,
        "message": None if r.message is None else str(r.message),
        "passed": r.passed,
        "checks": {
            LABELS[k]: r.checks.get(k)
            for k in COMPONENTS + tuple(k for k in RUNNING if k in r.checks)
        },
        "shapes": {
            LABELS[k]: {"expected": _shape(r.expected[k]), "got": _shape(r.got.get(k))}
            for k in COMPONENTS + RUNNING
            if k in r.expected
        },
        "diagnosis": list(r.diagnosis),
        "no_known_pattern": [LABELS[k] for k in r.unexplained],
        "printed_bytes": r.printed,
    }
    component = r.first_wrong() if r.status == "ok" else None
    if component is not None:
        cell = r.first_wrong_cell(component)
        doc["first_wrong"] = {
            "tensor": LABELS[component],
            "cell": None if cell is None else list(cell),
            "expected": None if cell is None else finite(r.expected[component][cell]),
            "got": None if cell is None else finite(r.got[component][cell]),
        }
    return doc


def file_document(result: FileResult) -> dict:
    """``{"file", "cases": [...], "diagnosis": [ids], "score", ...}``."""
    first = result.first_failure()
    return {
        "file": visible(result.path, width=500),
        "error": result.error,
        "remark": result.remark,
        "tolerance": {"rtol": RTOL, "rule": "|got - torch| <= rtol * max(1, max|torch|)"},
        "cases": [case_document(r) for r in result.cases],
        "diagnosis": result.diagnosis,
        "notes": result.notes,
        "findings": [
            {
                "id": f.id,
                "kind": f.kind,
                "tensor": f.tensor,
                "evidence": str(f.evidence),
                "cases": sorted(f.cases),
                "note": f.note,
            }
            for f in result.findings
        ],  # fmt: skip
        "fixes": {
            i: {"sentence": BUGS[i].sentence, "fix": BUGS[i].fix}
            for i in result.diagnosis + result.notes
        },
        "no_known_pattern": result.unexplained,
        "load_failure": None if result.load_failure is None else str(result.load_failure),
        "score": result.score if result.error is None else 0.0,
        "score_counts": "percent of the cases inside the API's contract that pass",
        "cases_counted": len(result.counted),
        "cases_failed": len(result.failed),
        "smallest_failing_case": None
        if result.smallest is None
        else case_document(result.smallest),
        "passed": result.passed,
        "first_failure": None if first is None else first.case.name,
    }


def grade_row(result: FileResult, folder: str) -> dict:
    """One line of the folder's table and grade book."""
    first = result.first_failure()
    return {
        "file": visible(os.path.relpath(result.path, folder), width=500),
        "passed": result.passed,
        "score": result.score if result.error is None else 0.0,
        "first_failure": None if first is None else first.case.name,
        "diagnosis": result.diagnosis,
        "error": result.error or result.load_failure,
        "note": None if first is None or first.status == "ok" else first.message,
        "notes": result.notes,
    }


HEADER = ["file", "score", "passed", "first_failing_case", "diagnosis", "error", "note",
          "isolation"]  # fmt: skip


def write_csv(rows: list[dict], path: str, isolation: str = "") -> None:
    """The grade book, atomically: a temporary file in the same folder, then a rename."""
    with atomic_write(path, ".grades-", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(
                [
                    csv_cell(row["file"]),
                    csv_cell(row["score"]),
                    csv_cell(row["passed"]),
                    csv_cell(row["first_failure"] or ""),
                    csv_cell(" ".join(row["diagnosis"] + row.get("notes", []))),
                    csv_cell(row["error"] or ""),
                    csv_cell(row["note"] or ""),
                    csv_cell(str(isolation)),
                ]
            )


@contextmanager
def atomic_write(path: str, prefix: str, perms: int | None = None, newline: str | None = None):
    """A text file written beside ``path`` and renamed onto it once complete and on disk, so
    a reader (or a crash) never sees half of it and a failure leaves ``path`` as it was.
    ``perms``: the file's mode, or what the umask gives a new file."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=prefix, suffix=os.path.splitext(path)[1], dir=folder)
    try:
        with os.fdopen(fd, "w", newline=newline, encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if perms is None:
            mask = os.umask(0o022)
            os.umask(mask)
            perms = 0o666 & ~mask
        os.chmod(temporary, perms)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def catalog_document() -> list[dict]:
    """The entries of ``convtrace check --list-bugs --json`` ({"bugs": [...]}): id, sentence
    and fix (English: JSON is the same in every language), and whether ``run --bug`` can plant
    it."""
    from .catalog import PLANTED_IDS

    return [
        {"id": b.id, "sentence": b.sentence, "fix": b.fix, "plantable": b.id in PLANTED_IDS}
        for b in CATALOG
    ]
