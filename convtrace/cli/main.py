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
from .autograder import app as autograder_app
from .bench import bench_command
from .check import check_command
from .errors import fail, guarded
from .explain import explain_command
from .help import HelpCommand, HelpGroup
from .live import live_command
from .options import scenario_options
from .output import (
    ColorOption,
    ExportOption,
    OutputOptions,
    QuietOption,
    Report,
    ThemeOption,
    open_handout,
    output_options,
)
from .sgd_options import LrOption, MomentumOption, WeightDecayOption, make_sgd
from .shapes import transposed_shapes
from .show import show as _show
from .tracing import run_trace as _trace
from .tracing import styled_console as _styled_console
from .train import train_command
from .usage import COMMANDS, usage_message

app = typer.Typer(
    name="convtrace",
    cls=HelpGroup,
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


@app.callback()
def _root(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            metavar="es|en",
            rich_help_panel="Output",
            show_default=False,
            help="Language of the help and of what the command prints: es or en (also "
            "accepted after the command).",
        ),
    ] = None,
) -> None:
    """``convtrace --lang es …``: the language is set before any command runs (main() reads
    --lang wherever it is typed); here a value we lack is refused."""
    if lang is not None:
        try:
            resolve_language(lang)
        except ValueError as error:
            fail(str(error))


GRADCHECK_OPTION = typer.Option(
    "--gradcheck",
    rich_help_panel="Output",
    help="A fourth witness: central finite differences of the loss in float64 for the gradients "
    "of the input and every parameter (at most 200 cells a stage, sampled beyond).",
)


@app.command(cls=HelpCommand)
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
    lr: LrOption = None,
    momentum: MomentumOption = 0.0,
    weight_decay: WeightDecayOption = 0.0,
) -> None:
    """Forward, loss and backward: every stage, ours next to PyTorch's.

    [bold]Examples[/bold]

      convtrace run --seed 42                      the course's worked example
      convtrace run --padding same --stride 2 --size 7
      convtrace run --only 'grad.*' --precision 6
      convtrace run --json > trace.json
      convtrace run --convt                        ∂L/∂x as a transposed convolution
      convtrace run --scenario examples/digit.toml  your own numbers (see examples/)
      convtrace run --seed 42 --lr 0.1             then one SGD step (update.* stages)

    Exit code 0 when every stage agrees with torch, 1 when any disagrees, 2 for bad input.
    """
    sgd = make_sgd(lr, momentum, weight_decay)
    trace = _trace(spec, backward=True, compare_torch=out.compare_torch, quiet=out.json,
                   only=out.only, gradcheck=gradcheck, sgd=sgd, convt=convt)  # fmt: skip
    if save_scenario is not None:
        from ..scenario.toml_file import save_scenario as write_scenario

        saved = write_scenario(trace.scenario, save_scenario)
        typer.echo(
            _("Saved; replay with: convtrace run --scenario {path}").format(path=saved), err=True
        )
    _show(trace, out)


@app.command(cls=HelpCommand)
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


@app.command(cls=HelpCommand)
@guarded
@output_options
@scenario_options
def backward(
    spec: ScenarioSpec,
    out: OutputOptions,
    gradcheck: Annotated[bool, GRADCHECK_OPTION] = False,
    lr: LrOption = None,
    momentum: MomentumOption = 0.0,
    weight_decay: WeightDecayOption = 0.0,
) -> None:
    """A one-line summary of the forward pass, then every backward stage in full.

    [bold]Examples[/bold]

      convtrace backward --compare-torch
      convtrace backward --method loop --only 'grad.conv.*'
      convtrace backward --lr 0.05 --momentum 0.9      then one SGD step
    """
    from ..tracing.update import is_update_stage

    sgd = make_sgd(lr, momentum, weight_decay)
    trace = _trace(spec, backward=True, compare_torch=out.compare_torch, quiet=out.json,
                   only=out.only, gradcheck=gradcheck, sgd=sgd)  # fmt: skip
    forward_names = [s.name for s in trace if not s.is_gradient and not is_update_stage(s.name)]
    _show(trace, out, summary_only=forward_names)


@app.command(cls=HelpCommand)
@guarded
def shapes(
    size: Annotated[int | None, typer.Option(help="Square input: H = W = SIZE.")] = None,
    height: Annotated[int | None, typer.Option(help="Input height H.")] = None,
    width: Annotated[int | None, typer.Option(help="Input width W.")] = None,
    kernel: Annotated[int, typer.Option("--kernel", "-k", help="Kernel size (square).")] = 3,
    stride: Annotated[int, typer.Option("--stride", "-s", help="Stride.")] = 1,
    padding: Annotated[
        str,
        typer.Option(
            "--padding",
            "-p",
            metavar="valid|same|N|H,W",
            help="'same' keeps ceil(size / stride); N pads every side by N, H,W the top/bottom "
            "by H and left/right by W.",
        ),
    ] = "valid",
    dilation: Annotated[int, typer.Option("--dilation", "-d", help="Dilation.")] = 1,
    transposed: Annotated[
        bool,
        typer.Option(
            "--transposed",
            help="A transposed convolution (convT): the input is the small map, "
            "H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1.",
        ),
    ] = False,
    output_padding: Annotated[
        int, typer.Option("--output-padding", help="With --transposed: rows added at the end.")
    ] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead.")] = False,
    color: ColorOption = "auto",
    theme: ThemeOption = "default",
    export: ExportOption = None,
    quiet: QuietOption = False,
) -> None:
    """The output-size arithmetic with your numbers: padding per side, the formula, and which
    input rows/columns a flooring stride never reads.

    [bold]Examples[/bold]

      convtrace shapes --size 7 --kernel 3 --stride 2 --padding same
      convtrace shapes --height 28 --width 20 --kernel 5 --dilation 2
      convtrace shapes --transposed --size 4 --kernel 3 --stride 2 --output-padding 1
    """
    from ..core.geometry import check_limit, positive_int
    from ..core.shapes import conv_geometry, geometry_document
    from ..scenario.spec import parse_padding

    console = _styled_console(color, theme)  # bad --color/--theme/--export before any work
    handout = open_handout(export, quiet, theme, json_out)

    for value, option in ((size, "--size"), (height, "--height"), (width, "--width")):
        if value is not None:  # judged as typed, so the message names the option given
            check_limit(positive_int(value, option), option)
    if size is None and height is None and width is None:
        size = 6
    hw = (size if height is None else height, size if width is None else width)
    if None in hw:
        fail(_("give --size, or both --height and --width"))
    pad = parse_padding(padding)
    if transposed:
        transposed_shapes(console, handout, quiet, json_out, hw, kernel, stride, pad,
                          output_padding, dilation)  # fmt: skip
        return
    if output_padding:
        fail(_("--output-padding belongs to a transposed convolution: add --transposed"))
    axes = conv_geometry(hw, kernel, stride, pad, dilation)
    if json_out:
        with english():
            typer.echo(json.dumps(geometry_document(axes, pad)))
    if handout is not None or not json_out:  # --json --export: the JSON and the handout
        from ..render.shapes import shapes_view

        Report(console, handout, quiet or json_out, "convtrace shapes").emit(shapes_view(axes, pad))


app.command("explain", cls=HelpCommand)(guarded(scenario_options(explain_command)))

# `convtrace bench` lives in bench_cli.py; importing it loads only typer (the timing code and
# torch load when the command runs).
app.command("bench", cls=HelpCommand)(guarded(bench_command))
app.command("check", cls=HelpCommand)(guarded(check_command))
app.command("train", cls=HelpCommand)(guarded(scenario_options(train_command)))
app.command("live", cls=HelpCommand)(live_command)
app.add_typer(autograder_app, name="autograder")


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
        if command == "convtrace" and args and args[0] in COMMANDS:
            command = f"convtrace {args[0]}"  # click failed before entering the command
        message = usage_message(error, click_errors, args)
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
