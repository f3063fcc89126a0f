"""``convtrace check --summarize RESULTS...``: the class report (``check/summary.py``)."""

from __future__ import annotations

import json

import typer

from ..i18n import _
from .errors import fail


def summarize_command(paths: list[str], json_out: bool, out) -> None:
    from ..check.escape import visible
    from ..check.summary import SummaryError, load, summarize

    if not paths:
        fail(_("--summarize: give RESULTS (a grade book, a --json document, a folder of "
               "results.json)"))  # fmt: skip
    try:
        records = load(paths)
    except OSError as error:
        fail(_("--summarize: {error}").format(error=visible(error)))
    except SummaryError as error:
        fail(visible(error))
    doc = summarize(records)
    if json_out:
        typer.echo(json.dumps(doc, ensure_ascii=False))
        out.quiet = True
    if out.handout is not None or not json_out:
        from ..render.check_summary import summary_view

        out.emit(summary_view(doc))
