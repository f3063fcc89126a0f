"""The ``convtrace`` command: a thin Typer shell over the library (no math here).

Scenario → pipeline → (torch reference) → render or JSON; this module owns exit codes:
0 everything agrees, 1 a stage disagrees (or an internal error), 2 bad input.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ..i18n import _, english, language, resolve_language
from ..scenario.spec import ScenarioSpec
from .bench import bench_command
from .check import check_command
from .live import live_command
from .options import guarded, no_such_option, scenario_options
from .output import (
    ColorOption,
    ExportOption,
    OutputOptions,
    QuietOption,
    Report,
    ThemeOption,
    open_handout,
    output_options,
    spinner,
    styled_console,
)
from .shapes import shapes_command
from .show import show as _show

app = typer.Typer(
    name="convtrace",
    help=(
        "Watch a tiny CNN compute, one tensor at a time: conv → pool → flatten → fc → loss, "
        "forward and backward, by hand (loops and im2col) next to PyTorch's autograd.\n\n"
        "Start with: [bold]convtrace run --seed 42[/bold]"
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _trace(spec: ScenarioSpec, *, backward: bool, compare_torch: bool, quiet: bool,
           only: str | None = None, cell: str | None = None, gradcheck: bool = False,
           convt: bool = False):  # fmt: skip
    """The run (see tracing/run.py) with a spinner unless ``quiet`` (JSON output); ``only``: an
    --only glob, refused before computing when no stage of this network matches it; ``cell``:
    explain's stage, refused likewise when this network has no sum for it."""
    from ..tracing.run import compute_trace
    from .output import check_only_pattern

    def before_run(layers):
        check_only_pattern(only, layers)
        if cell is not None:
            from ..explain.cell import check_covered

            check_covered(cell, layers)

    return compute_trace(
        spec,
        backward=backward,
        reference=compare_torch,
        gradcheck=gradcheck,
        convt=convt,
        before_run=before_run,
        status=lambda message: spinner(message, quiet),
    )


GRADCHECK_OPTION = typer.Option(
    "--gradcheck",
    rich_help_panel="Output",
    help="A fourth witness: central finite differences of the loss in float64 for the gradients "
    "of the input and every parameter (at most 200 cells a stage, sampled beyond).",
)


@app.command()
@guarded
@output_options
@scenario_options
def run(
    spec: ScenarioSpec,
    out: OutputOptions,
    save_scenario: Annotated[
        str | None,
        typer.Option(
            "--save-scenario",
            metavar="DIR",
            rich_help_panel="Your own numbers (files)",
            help="Write this run as DIR/scenario.toml + DIR/arrays.npz, to edit and replay "
            "with --scenario.",
        ),
    ] = None,
    gradcheck: Annotated[bool, GRADCHECK_OPTION] = False,
    convt: Annotated[
        bool,
        typer.Option(
            "--convt",
            rich_help_panel="Output",
            help="Show that each conv's input gradient is a transposed convolution of ∂L/∂H "
            "with the same weights: computed that way too (and by torch's conv_transpose2d) "
            "and checked, with a panel.",
        ),
    ] = False,
) -> None:
    """Forward, loss and backward: every stage, ours next to PyTorch's.

    [bold]Examples[/bold]

      convtrace run --seed 42                      the course's worked example
      convtrace run --padding same --stride 2 --size 7
      convtrace run --only 'grad.*' --precision 6
      convtrace run --json > trace.json
      convtrace run --convt                        ∂L/∂x as a transposed convolution
      convtrace run --scenario examples/digit.toml  your own numbers (see examples/)

    Exit code 0 when every stage agrees with torch, 1 when any disagrees, 2 for bad input.
    """
    trace = _trace(spec, backward=True, compare_torch=out.compare_torch, quiet=out.json,
                   only=out.only, gradcheck=gradcheck, convt=convt)  # fmt: skip
    if save_scenario is not None:
        from ..scenario.toml_file import save_scenario as write_scenario

        saved = write_scenario(trace.scenario, save_scenario)
        typer.echo(
            _("Saved; replay with: convtrace run --scenario {path}").format(path=saved), err=True
        )
    _show(trace, out)


@app.command()
@guarded
@output_options
@scenario_options
def forward(spec: ScenarioSpec, out: OutputOptions) -> None:
    """Forward stages and the loss, each with its formula and torch's value.

    [bold]Examples[/bold]

      convtrace forward --seed 7
      convtrace forward --activation relu --pool avg --only 'conv.*'
    """
    _show(
        _trace(
            spec, backward=False, compare_torch=out.compare_torch, quiet=out.json, only=out.only
        ),
        out,
    )


@app.command()
@guarded
@output_options
@scenario_options
def backward(
    spec: ScenarioSpec, out: OutputOptions, gradcheck: Annotated[bool, GRADCHECK_OPTION] = False
) -> None:
    """A one-line summary of the forward pass, then every backward stage in full.

    [bold]Examples[/bold]

      convtrace backward --compare-torch
      convtrace backward --method loop --only 'grad.conv.*'
    """
    trace = _trace(spec, backward=True, compare_torch=out.compare_torch, quiet=out.json,
                   only=out.only, gradcheck=gradcheck)  # fmt: skip
    forward_names = [s.name for s in trace if not s.is_gradient]
    _show(trace, out, summary_only=forward_names)


app.command("shapes")(guarded(shapes_command))  # before explain: the help lists them in order


@app.command()
@guarded
@scenario_options
def explain(
    cell: Annotated[
        str,
        typer.Argument(
            help="The number to explain, as stage\\[i,j,...]: conv.out\\[n,f,i,j], "
            "pool.out\\[n,c,i,j], fc.out\\[n,o], loss, grad.conv.weight\\[f,c,u,v], "
            "grad.conv.bias\\[f], grad.fc.weight\\[o,k], grad.input\\[n,c,r,q], …; in a --net "
            "network the same for every layer (conv2.out\\[0,3,1,1]). Quote it for the shell.",
            metavar="CELL",
            show_default=False,
        ),
    ],
    spec: ScenarioSpec,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON document with every term instead.")
    ] = False,
    compare_torch: Annotated[
        bool,
        typer.Option(
            "--compare-torch/--no-compare-torch", help="Check the value against PyTorch's too."
        ),
    ] = True,
    precision: Annotated[
        int, typer.Option(help="Significant digits of non-whole numbers.", min=0, max=12)
    ] = 4,
    color: ColorOption = "auto",
    theme: ThemeOption = "default",
    export: ExportOption = None,
    quiet: QuietOption = False,
) -> None:
    """Where one number comes from: its short sum, term by term, with the run's actual values.

    Same scenario flags (and seed) as [bold]run[/bold].

    [bold]Examples[/bold]

      convtrace explain 'conv.out[0,1,2,2]' --seed 42     the worked example's 9 terms
      convtrace explain 'grad.conv.weight[0,0,0,0]'
      convtrace explain 'grad.input[0,0,2,2]' --padding same --stride 2
      convtrace explain 'pool.out[0,1,1,1]' --pool avg --json
      convtrace explain 'grad.input[0,0,2,2]' --export grad_input.html   also a handout
      convtrace explain 'fc.out[0,0]'                       z = Σ f·W_fc + b, term by term
      convtrace explain loss --loss ce --classes 3
      convtrace explain 'conv2.out[0,3,1,1]' --net "conv(4,3) relu conv(8,3) fc(10)"

    Exit code 0 when the sum agrees with the trace and torch, 1 when not, 2 for bad input.
    """
    from ..explain.cell import explain_cell, explanation_document, parse_cell

    console = styled_console(color, theme)  # a bad --color/--theme before any work
    handout = open_handout(export, quiet, theme)
    stage, index = parse_cell(cell)
    trace = _trace(spec, backward=True, compare_torch=compare_torch, quiet=json_out, cell=stage)
    explanation = explain_cell(trace, stage, index)
    if json_out:
        with english():
            typer.echo(json.dumps(explanation_document(explanation)))
    if handout is not None or not json_out:
        from ..render.explain import explanation_view

        view = explanation_view(explanation, precision)
        title = f"convtrace explain {explanation.cell}"
        Report(console, handout, quiet or json_out, title).emit(view)
    if not explanation.agrees_with_trace or explanation.agrees_with_reference is False:
        raise typer.Exit(1)


# `convtrace bench` lives in bench_cli.py; importing it loads only typer (the timing code and
# torch load when the command runs).
app.command("bench")(guarded(bench_command))
app.command("check")(guarded(check_command))
app.command("live")(live_command)


def _usage_message(error, click_errors) -> str:
    """Click's message on one line; an unknown option names its closest match first."""
    possibilities = getattr(error, "possibilities", None)
    if isinstance(error, click_errors.NoSuchOption) and possibilities:
        import difflib

        ranked = sorted(
            possibilities,
            key=lambda p: -difflib.SequenceMatcher(None, error.option_name, p).ratio(),
        )
        return no_such_option(error.option_name, ranked)
    return " ".join(error.format_message().split())


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; ``argv`` defaults to ``sys.argv[1:]``.

    Typer's multi-line usage boxes become the README's promise: one ``Error: …`` line (with
    click's "Did you mean …?" kept) and exit code 2.
    """
    from typer._click import exceptions as click_errors  # Typer vendors click

    args = sys.argv[1:] if argv is None else list(argv)
    with language(_lang_in(args)):
        code = _main(args, click_errors)
    sys.exit(code or 0)


def _lang_in(args: list[str]) -> str | None:
    """``--lang`` as typed (for usage errors, which come before any command runs); a value we
    lack is left for the command to refuse."""
    for i, arg in enumerate(args):
        value = arg[len("--lang=") :] if arg.startswith("--lang=") else None
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        if value is not None:
            try:
                return resolve_language(value)
            except ValueError:
                return None
    return None


def _main(args: list[str], click_errors) -> int:
    try:
        code = app(args=args, standalone_mode=False, prog_name="convtrace")
    except click_errors.NoArgsIsHelpError:
        code = 0  # building this error already printed the help
    except click_errors.UsageError as error:
        command = error.ctx.command_path if error.ctx is not None else "convtrace"
        message = _usage_message(error, click_errors)
        hint = _("(see {command} --help)").format(command=command)
        typer.echo(f"Error: {message} {hint}", err=True)
        code = 2
    except click_errors.ClickException as error:
        typer.echo(f"Error: {' '.join(error.format_message().split())}", err=True)
        code = 2
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        code = 130
    return code
