"""The ``--json`` document and the ``--csv`` grade book of ``convtrace check`` (plain data)."""

from __future__ import annotations

import csv
import os

import numpy as np

from .cases import RTOL
from .catalog import BUGS
from .grade import COMPONENTS, LABELS, CaseResult, FileResult


def _shape(a) -> list[int] | None:
    return None if a is None else [int(n) for n in np.shape(a)]


def case_document(r: CaseResult) -> dict:
    doc = {
        "name": r.case.name,
        "geometry": r.case.describe(),
        "status": r.status,
        "message": r.message,
        "passed": r.passed,
        "checks": {LABELS[k]: r.checks.get(k) for k in COMPONENTS},
        "shapes": {
            LABELS[k]: {"expected": _shape(r.expected[k]), "got": _shape(r.got.get(k))}
            for k in COMPONENTS
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
            "expected": None if cell is None else float(r.expected[component][cell]),
            "got": None if cell is None else float(r.got[component][cell]),
        }
    return doc


def file_document(result: FileResult) -> dict:
    """``{"file", "cases": [...], "diagnosis": [ids], "score", ...}``."""
    first = result.first_failure()
    return {
        "file": result.path,
        "error": result.error,
        "tolerance": {"rtol": RTOL, "rule": "|got - torch| <= rtol * max(1, max|torch|)"},
        "cases": [case_document(r) for r in result.cases],
        "diagnosis": result.diagnosis,
        "fixes": {i: {"sentence": BUGS[i].sentence, "fix": BUGS[i].fix} for i in result.diagnosis},
        "no_known_pattern": result.unexplained,
        "score": result.score if result.error is None else 0.0,
        "passed": result.passed,
        "first_failure": None if first is None else first.case.name,
    }


def grade_row(result: FileResult, folder: str) -> dict:
    """One line of the folder's table and grade book."""
    first = result.first_failure()
    return {
        "file": os.path.relpath(result.path, folder),
        "passed": result.passed,
        "score": result.score if result.error is None else 0.0,
        "first_failure": None if first is None else first.case.name,
        "diagnosis": result.diagnosis,
        "error": result.error,
        "note": None if first is None or first.status == "ok" else first.message,
    }


def write_csv(rows: list[dict], path: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["file", "score", "passed", "first_failing_case", "diagnosis", "error", "note"]
        )
        for row in rows:
            writer.writerow(
                [
                    row["file"],
                    row["score"],
                    "yes" if row["passed"] else "no",
                    row["first_failure"] or "",
                    " ".join(row["diagnosis"]),
                    row["error"] or "",
                    row["note"] or "",
                ]
            )
