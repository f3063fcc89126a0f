"""``convtrace explain CELL``: where one number comes from, its sum term by term."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..i18n import english
from ..scenario.spec import ScenarioSpec
from .output import ColorOption, ExportOption, QuietOption, Report, ThemeOption, open_handout
from .sgd_options import LrOption, MomentumOption, WeightDecayOption, make_sgd
from .tracing import net_layers, run_trace, styled_console


def explain_command(
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
    lr: LrOption = None,
    momentum: MomentumOption = 0.0,
    weight_decay: WeightDecayOption = 0.0,
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
      convtrace explain 'update.conv.weight[0,0,1,1]' --lr 0.1   one SGD step, W − η·∂L/∂W

    Exit code 0 when the sum agrees with the trace and torch, 1 when not, 2 for bad input.
    """
    from ..explain.cell import explain_cell, explanation_document, parse_cell

    console = styled_console(color, theme)  # a bad --color/--theme before any work
    handout = open_handout(export, quiet, theme, json_out)
    stage, index = parse_cell(cell, net_layers(spec))
    sgd = make_sgd(lr, momentum, weight_decay)
    trace = run_trace(spec, backward=True, compare_torch=compare_torch, quiet=json_out, cell=stage,
                   sgd=sgd)  # fmt: skip
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
