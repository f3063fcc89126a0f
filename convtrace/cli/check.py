"""The ``convtrace check`` command, ready to register on the Typer app::

    app.command("check")(guarded(check_command))

Importing this module loads only typer; the grader, numpy and torch load when it runs.
"""

from __future__ import annotations

import json
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..i18n import _
from .errors import fail
from .output import ExportOption, QuietOption, Report, open_handout, spinner

PANEL = "Checking"


class Api(str, Enum):  # noqa: UP042 (StrEnum is 3.11+)
    course = "course"
    cs231n = "cs231n"


# an option with an optional value (`--gradescope` alone: the default folder); Typer warns that
# click's flag_value is not its own API, so the warning is silenced for this one definition
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    GRADESCOPE = typer.Option(
        "--gradescope",
        metavar="[DIR]",
        is_flag=False,
        flag_value="/autograder/results",
        rich_help_panel=PANEL,
        help="Write Gradescope's results.json in DIR (after FILE; default "
        "/autograder/results), whatever the submission does; exit 0 once written.",
    )


def check_command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FILE.py|FILE.ipynb|FOLDER",
            help="The student's file (.py, or a notebook .ipynb), or a folder: every .py and "
            ".ipynb in it is graded.",
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
            "conv_backward_naive; max-pool, affine, ReLU and batchnorm pairs are graded when "
            "present).",
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
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            min=0,
            rich_help_panel=PANEL,
            help="Folder mode: files graded at once, each in a process of its own "
            "(0: one per core).",
        ),
    ] = 0,
    allow: Annotated[
        list[str] | None,
        typer.Option(
            "--allow",
            metavar="torch",
            rich_help_panel=PANEL,
            help="Let the student's code import torch (forbidden by default).",
        ),
    ] = None,
    require_isolation: Annotated[
        bool,
        typer.Option(
            "--require-isolation",
            rich_help_panel=PANEL,
            help="Refuse to grade unless the student's code runs in namespaces (Linux).",
        ),
    ] = False,
    gradescope: Annotated[str | None, GRADESCOPE] = None,
    hide_cases: Annotated[
        bool,
        typer.Option(
            "--hide-cases",
            rich_help_panel=PANEL,
            help="--gradescope: the cases hidden from students.",
        ),
    ] = False,
    summarize: Annotated[
        bool,
        typer.Option(
            "--summarize",
            rich_help_panel=PANEL,
            help="The class report of RESULTS... (grade books, --json documents, folders of "
            "results.json): students per mistake, failure rate per case and tensor, scores.",
        ),
    ] = False,
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

    The student's code runs in a separate process with hard limits (time per case, memory,
    no file writes), isolated in Linux namespaces where bubblewrap works (no network, no view
    of your files or of other submissions); a crash, a loop or an exception fails that case and
    grading goes on. The report says which protection was in force.

    [bold]Examples[/bold]

      convtrace check my_conv.py --class Conv2D
      convtrace check layers.py --api cs231n
      convtrace check submissions/ --class Conv --csv grades.csv
      convtrace check --list-bugs
      convtrace check --summarize grades.csv      the class report (--export report.html)
      convtrace check submission.py --gradescope results/   Gradescope's results.json
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
    if summarize:
        from .check_summary import summarize_command

        summarize_command(paths or [], json_out, out)
        return
    if paths and len(paths) > 1:
        fail(_("give one FILE or FOLDER (several RESULTS go with --summarize)"))
    path = paths[0] if paths else None
    if path is None:
        fail(_("give the student's FILE.py or a FOLDER of them (or --list-bugs)"))
    from ..check.escape import visible

    target = Path(path)
    if gradescope is not None and target.is_dir() and not target.is_symlink():
        fail(_("--gradescope grades one FILE (one results.json per submission)"))
    if gradescope is not None and gradescope.startswith("-"):  # `--gradescope --hide-cases`
        fail(_("--gradescope {value}: give the folder, or put --gradescope last").format(
            value=visible(gradescope)))  # fmt: skip
    if hide_cases and gradescope is None:
        fail(_("--hide-cases goes with --gradescope"))
    # --gradescope: a missing or non-Python submission still gets a results.json saying so
    if gradescope is None and not target.exists() and not target.is_symlink():
        fail(_("{path} does not exist").format(path=visible(path)))
    if gradescope is None and target.is_file() and target.suffix not in (".py", ".ipynb"):
        fail(
            _("{path} is not a Python file (.py) or a notebook (.ipynb): not run").format(
                path=visible(path)
            )
        )
    for name in allow or []:
        if name != "torch":
            fail(_("--allow {name}: only torch can be allowed").format(name=visible(name)))
    if csv_path:
        _check_csv_path(csv_path)  # before any grading: a grade book nowhere to go is refused
    from ..check.isolation import detect

    isolation = detect()
    if require_isolation and not isolation.namespaced:
        fail(
            _("--require-isolation: the student's code would run with {what} ({why})").format(
                what=_(isolation.describe()), why=visible(isolation.reason)
            )
        )
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
        allow_torch="torch" in (allow or []),
        isolation=isolation,
    )
    if gradescope is not None:
        from .check_gradescope import write_gradescope

        write_gradescope(target, options, gradescope, hide_cases, quiet or json_out)
        return
    if target.is_dir() and not target.is_symlink():
        from .check_folder import check_folder, jobs_for

        check_folder(target, options, json_out, csv_path, out, jobs_for(jobs))
    else:
        _check_file(target, options, json_out, csv_path, out)


def _check_csv_path(csv_path: str) -> None:
    import os

    from ..check.escape import visible

    folder = os.path.dirname(os.path.abspath(csv_path))
    if not os.path.isdir(folder):
        fail(_("--csv {path}: the folder {folder} does not exist").format(
            path=visible(csv_path), folder=visible(folder)))  # fmt: skip
    if os.path.isdir(csv_path) or not os.access(folder, os.W_OK):
        fail(_("--csv {path}: cannot write a file there").format(path=visible(csv_path)))


def _refused(path: Path):
    """Why ``path`` is not graded (a symlink, a device, a folder named x.py), or None."""
    import stat

    from ..i18n import Msg

    try:
        mode = path.lstat().st_mode
    except OSError:
        return Msg("cannot be read")
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return Msg("a symbolic link, not a file: not graded")
    if stat.S_ISDIR(mode):
        return Msg("a folder, not a file: not graded")
    return Msg("not a regular file: not graded")


def _battery(api: str, quiet: bool):
    """The cases and torch's values for them (torch is imported here, once)."""
    from ..check.cases import References, build_battery

    with spinner(_("asking PyTorch for the expected values…"), quiet):
        cases = build_battery(api)
        references = References(cases)
        for index, case in enumerate(cases):  # the rest when a file has those functions
            if case.spec.kind == "conv":
                references[index]
    import gc

    # torch's hundreds of thousands of objects live to the end: frozen, the collector no longer
    # walks them at every full collection during grading, nor at exit (~0.6 s)
    gc.freeze()
    return cases, references


def _check_file(target: Path, options, json_out: bool, csv_path: str | None, out: Report) -> None:
    from ..check.escape import markup, visible
    from ..check.grade import grade_file
    from ..check.report import file_document, grade_row, strict_json, write_csv

    refused = _refused(target)
    if refused:
        fail(_("{target}: {error}").format(target=visible(target), error=_(refused)))
    cases, references = _battery(options.api, json_out)
    # the spinner and the progress bar read Rich markup: a file named "[/].py" is escaped
    with spinner(_("grading {name}…").format(name=markup(target.name)), json_out):
        result = grade_file(target, cases, references, options)
    if result.error:
        fail(_("{target}: {error}").format(target=visible(target), error=_(result.error)))
    isolation = options.isolation.describe()
    if csv_path:
        write_csv([grade_row(result, str(target.parent))], csv_path, isolation)
    if json_out:
        typer.echo(strict_json({**file_document(result), "isolation": str(isolation)}))
        out.quiet = True
    if out.handout is not None or not json_out:
        from ..render.check import file_view

        out.emit(file_view(result, options.api, isolation))
    if not result.passed:
        raise typer.Exit(1)
