"""``convtrace check FILE --gradescope [DIR]``: Gradescope's ``results.json`` for one
submission. It is written whatever happens to the submission (missing, not Python, does not
load, hangs, crashes): the student reads why, with score 0, and the exit code is 0 once the
file is written (Gradescope reads the file, not the exit code)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from ..i18n import _

DEFAULT_DIR = "/autograder/results"


def write_gradescope(
    target: Path, options, folder: str, hide_cases: bool, quiet: bool, points=None
) -> None:
    """points: points per graded function (``gradescope.parse_points``), None for 100 shared."""
    from ..check.escape import visible
    from ..check.gradescope import gradescope_document, unreadable_document, write_results
    from .check import _battery, _refused

    start = time.monotonic()
    why = None
    if not target.exists() and not target.is_symlink():
        why = _("{path} does not exist").format(path=visible(target))
    elif target.suffix not in (".py", ".ipynb"):
        why = _("{path} is not a Python file (.py) or a notebook (.ipynb): not run").format(
            path=visible(target)
        )
    elif _refused(target):
        why = _("{target}: {error}").format(target=visible(target), error=_(_refused(target)))
    if why is not None:
        doc = unreadable_document(why, time.monotonic() - start)
    else:
        from ..check.grade import grade_file

        cases, references = _battery(options.api, True)
        result = grade_file(target, cases, references, options)
        doc = gradescope_document(result, hide_cases, time.monotonic() - start, points)
    path = write_results(doc, folder)
    if not quiet:
        typer.echo(_("wrote {path} (score {score})").format(path=visible(path), score=doc["score"]))
