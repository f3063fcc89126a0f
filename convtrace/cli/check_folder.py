"""``convtrace check FOLDER``: every ``.py`` and ``.ipynb`` of a folder, ``--jobs`` at a time.

The workers (``check.parallel``) start before torch is imported here and load their first
files in their sandboxes meanwhile, so that work overlaps the import; the table, JSON and
grade book list the files in name order whatever finished first, and ``--jobs 1`` grades in
this process, one file after another.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..i18n import _
from .errors import fail
from .output import Report


def jobs_for(jobs: int) -> int:
    """``--jobs``: 0 means one per core this process may use."""
    from ..check.parallel import default_jobs

    return jobs or default_jobs()


def check_folder(
    folder: Path, options, json_out: bool, csv_path: str | None, out: Report, jobs: int = 1
) -> None:
    """Every ``*.py`` of the folder, ``jobs`` at a time (worker processes, each driving one
    sandboxed child per file); the table and grade book in file order. A symlink, device or
    folder named x.py gets a line saying it was not graded."""
    import contextlib
    import dataclasses

    from ..check.escape import markup, visible
    from ..check.grade import FileResult
    from ..check.parallel import Workers, grade_files
    from ..check.report import file_document, grade_row, strict_json, write_csv
    from ..render.check import check_progress, folder_table, isolation_line
    from ..render.console import make_console
    from .check import _battery, _refused

    no_shrink = dataclasses.replace(options, shrink=False)  # the table shows no smallest case
    files = sorted(p for p in folder.iterdir() if p.name.endswith((".py", ".ipynb")))
    if not files:
        fail(_("{folder} holds no .py file").format(folder=visible(folder)))
    refused = {i: why for i, path in enumerate(files) if (why := _refused(path))}
    graded = [path for i, path in enumerate(files) if i not in refused]
    jobs = min(jobs, len(graded))
    with Workers(jobs) if jobs > 1 else contextlib.nullcontext() as workers:
        if workers is not None:  # their first files' code loads while torch is imported here
            workers.prestart(graded, no_shrink)
        cases, references = _battery(options.api, json_out)
        stderr = make_console(file=sys.stderr)
        quiet = json_out or not sys.stderr.isatty()
        progress = check_progress(stderr, len(files) * len(cases)) if not quiet else None
        with progress if progress is not None else contextlib.nullcontext() as advance:
            for index in refused:
                if advance:
                    advance(markup(files[index].name), len(cases))
            done = [0] * len(graded)
            labels = [_("grading {name}").format(name=markup(p.name)) for p in graded]

            def on_case(index: int) -> None:
                done[index] += 1
                if advance:
                    advance(labels[index])

            def on_done(index: int) -> None:  # the cases of functions the file lacks
                if advance and done[index] < len(cases):
                    advance(labels[index], len(cases) - done[index])

            results = iter(grade_files(graded, cases, references, no_shrink, workers, on_case,
                                       on_done))  # fmt: skip
            results = [
                FileResult(str(path), error=refused[i]) if i in refused else next(results)
                for i, path in enumerate(files)
            ]
    rows = [grade_row(result, str(folder)) for result in results]
    isolation = options.isolation.describe()
    if csv_path:
        write_csv(rows, csv_path, isolation)
    if json_out:
        documents = [file_document(result) for result in results]
        doc = {"folder": str(folder), "isolation": str(isolation), "files": documents}
        typer.echo(strict_json(doc))
        out.quiet = True
    if out.handout is not None or not json_out:
        out.print(isolation_line(isolation))
        out.print(folder_table(rows))
        passed = sum(row["passed"] for row in rows)
        style = "ct.ok" if passed == len(rows) else "ct.bad"
        text = _("{passed} of {total} files pass every case").format(passed=passed, total=len(rows))
        out.print(f"[{style}]{text}[/]")
        out.save()
    if not all(row["passed"] for row in rows):
        raise typer.Exit(1)
