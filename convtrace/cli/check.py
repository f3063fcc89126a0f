"""The ``convtrace check`` command, ready to register on the Typer app::

    app.command("check")(guarded(check_command))

Importing this module loads only typer; the grader, numpy and torch load when it runs.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..i18n import _
from .options import fail
from .output import ExportOption, QuietOption, Report, open_handout, spinner

PANEL = "Checking"


class Api(str, Enum):  # noqa: UP042 (StrEnum is 3.11+)
    course = "course"
    cs231n = "cs231n"


def check_command(
    path: Annotated[
        str | None,
        typer.Argument(
            metavar="FILE.py|FOLDER",
            help="The student's file, or a folder: every .py in it is graded.",
            show_default=False,
        ),
    ] = None,
    class_name: Annotated[
        str,
        typer.Option(
            "--class",
            metavar="NAME",
            rich_help_panel=PANEL,
            help="The class to grade: NAME(filters, kernel_size, stride, padding), "
            "forward(X) -> O, backward(dLdO) -> (dLdF, dLdX).",
        ),
    ] = "Conv2D",
    api: Annotated[
        Api,
        typer.Option(
            "--api",
            rich_help_panel=PANEL,
            help="course (the class above) or cs231n (conv_forward_naive / "
            "conv_backward_naive; max-pool, affine and ReLU pairs are graded when present).",
        ),
    ] = Api.course,
    function: Annotated[
        str | None,
        typer.Option(
            "--function",
            metavar="FWD,BWD",
            rich_help_panel=PANEL,
            help="--api cs231n: the forward and backward function names.",
            show_default="conv_forward_naive,conv_backward_naive",
        ),
    ] = None,
    weight_attr: Annotated[
        str | None,
        typer.Option(
            "--weight-attr",
            metavar="NAME",
            rich_help_panel=PANEL,
            help="The attribute holding the (F, C, k, k) weights, when guessing is ambiguous.",
        ),
    ] = None,
    bias_attr: Annotated[
        str | None,
        typer.Option(
            "--bias-attr",
            metavar="NAME",
            rich_help_panel=PANEL,
            help="The attribute holding the bias (F elements), when guessing is ambiguous.",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, rich_help_panel=PANEL, help="Seconds per case."),
    ] = 10.0,
    memory: Annotated[
        float,
        typer.Option(
            "--memory",
            min=0.1,
            rich_help_panel=PANEL,
            help="Memory limit of the student's code, GiB.",
        ),
    ] = 2.0,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead.", rich_help_panel=PANEL)
    ] = False,
    csv_path: Annotated[
        str | None,
        typer.Option(
            "--csv", metavar="FILE", rich_help_panel=PANEL, help="Write a grade book (folder mode)."
        ),
    ] = None,
    list_bugs: Annotated[
        bool,
        typer.Option(
            "--list-bugs", rich_help_panel=PANEL, help="Print the catalog of bugs and exit."
        ),
    ] = False,
    export: ExportOption = None,
    quiet: QuietOption = False,
) -> None:
    """Grade a student's own convolution against torch, case by case, and name the bug.

    The student's code runs in a separate process with a time limit per case and a memory
    limit; a crash, a loop or an exception fails that case and grading goes on.

    [bold]Examples[/bold]

      convtrace check my_conv.py --class Conv2D
      convtrace check layers.py --api cs231n
      convtrace check submissions/ --class Conv --csv grades.csv
      convtrace check --list-bugs
      convtrace check my_conv.py --export feedback.html      the report as a handout

    Exit code 0 when every case passes, 1 when any fails, 2 for bad input.
    """
    from ..render.console import make_console

    handout = open_handout(export, quiet, "default", json_out)  # a bad --export before any work
    out = Report(make_console(), handout, quiet, "convtrace check")
    if list_bugs:
        from ..render.check import catalog_view

        if json_out:  # the catalog as data (English, like every JSON document)
            from ..check.report import catalog_document

            typer.echo(json.dumps({"bugs": catalog_document()}))
            out.quiet = True
        if out.handout is not None or not json_out:
            out.emit(catalog_view())
        return
    if path is None:
        fail(_("give the student's FILE.py or a FOLDER of them (or --list-bugs)"))
    target = Path(path)
    if not target.exists():
        fail(_("{path} does not exist").format(path=path))
    if target.is_file() and target.suffix != ".py":
        fail(_("{path} is not a Python file (.py): not run").format(path=path))
    functions = ("conv_forward_naive", "conv_backward_naive")
    if function is not None:
        names = [n.strip() for n in function.split(",")]
        if len(names) != 2 or not all(n.isidentifier() for n in names):
            fail(
                _("--function {function!r}: give two names, FORWARD,BACKWARD").format(
                    function=function
                )
            )
        functions = tuple(names)
    from ..check.grade import CheckOptions

    options = CheckOptions(
        api=api.value,
        class_name=class_name,
        functions=functions,
        weight_attr=weight_attr,
        bias_attr=bias_attr,
        timeout=timeout,
        memory=int(memory * 2**30),
    )
    if target.is_dir():
        _check_folder(target, options, json_out, csv_path, out)
    else:
        _check_file(target, options, json_out, csv_path, out)


def _battery(api: str, quiet: bool):
    """The cases and torch's values for them (torch is imported here, once)."""
    from ..check.cases import References, build_battery

    with spinner(_("asking PyTorch for the expected values…"), quiet):
        cases = build_battery(api)
        references = References(cases)
        for index, case in enumerate(cases):  # the rest when a file has those functions
            if case.spec.kind == "conv":
                references[index]
        return cases, references


def _check_file(target: Path, options, json_out: bool, csv_path: str | None, out: Report) -> None:
    from ..check.grade import grade_file
    from ..check.report import file_document, grade_row, write_csv

    cases, references = _battery(options.api, json_out)
    with spinner(_("grading {name}…").format(name=target.name), json_out):
        result = grade_file(target, cases, references, options)
    if result.error:
        fail(_("{target}: {error}").format(target=target, error=_(result.error)))
    if csv_path:
        write_csv([grade_row(result, str(target.parent))], csv_path)
    if json_out:
        typer.echo(json.dumps(file_document(result)))
        out.quiet = True
    if out.handout is not None or not json_out:
        from ..render.check import file_view

        out.emit(file_view(result, options.api))
    if not result.passed:
        raise typer.Exit(1)


def _check_folder(folder: Path, options, json_out: bool, csv_path: str | None, out: Report) -> None:
    import dataclasses

    from ..check.grade import grade_file
    from ..check.report import file_document, grade_row, write_csv
    from ..render.check import check_progress, folder_table
    from ..render.console import make_console

    no_shrink = dataclasses.replace(options, shrink=False)  # the table shows no smallest case
    files = sorted(p for p in folder.glob("*.py") if p.is_file())
    if not files:
        fail(_("{folder} holds no .py file").format(folder=folder))
    cases, references = _battery(options.api, json_out)
    rows, documents = [], []
    stderr = make_console(file=sys.stderr)
    quiet = json_out or not sys.stderr.isatty()
    progress = check_progress(stderr, len(files) * len(cases)) if not quiet else None
    with progress if progress is not None else _nothing() as advance:
        for file in files:
            done = 0
            if advance:
                advance(_("grading {name}").format(name=file.name), 0)

            def on_case(case_result, file=file):
                nonlocal done
                done += 1
                if advance:
                    advance(_("grading {name}").format(name=file.name))

            result = grade_file(file, cases, references, no_shrink, on_case=on_case)
            if advance and done < len(cases):
                advance(file.name, len(cases) - done)
            rows.append(grade_row(result, str(folder)))
            documents.append(file_document(result))
    if csv_path:
        write_csv(rows, csv_path)
    if json_out:
        typer.echo(json.dumps({"folder": str(folder), "files": documents}))
        out.quiet = True
    if out.handout is not None or not json_out:
        out.print(folder_table(rows))
        passed = sum(row["passed"] for row in rows)
        style = "ct.ok" if passed == len(rows) else "ct.bad"
        text = _("{passed} of {total} files pass every case").format(passed=passed, total=len(rows))
        out.print(f"[{style}]{text}[/]")
        out.save()
    if not all(row["passed"] for row in rows):
        raise typer.Exit(1)


def _nothing():
    import contextlib

    return contextlib.nullcontext(None)
