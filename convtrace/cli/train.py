"""``convtrace train``: K steps of SGD on the scenario's batch (or a dataset's mini-batches),
the loss curve, and beside each step torch's own training loop from the same weights."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ..core.errors import ParameterError
from ..i18n import _
from ..scenario.spec import ScenarioSpec
from .output import ColorOption, ExportOption, QuietOption, Report, ThemeOption, open_handout
from .sgd_options import SGD_PANEL, MomentumOption, WeightDecayOption

#: a progress bar for runs of more steps than this (on a terminal)
PROGRESS_FROM = 20
#: the exit code of a run stopped by Ctrl-C (128 + SIGINT), after printing the steps so far
INTERRUPTED = 130


def train_command(
    spec: ScenarioSpec,
    steps: Annotated[
        int,
        typer.Option(
            "--steps", min=1, max=100_000, rich_help_panel=SGD_PANEL, help="Number of SGD steps K."
        ),  # fmt: skip
    ] = 20,
    lr: Annotated[
        float, typer.Option("--lr", metavar="η", rich_help_panel=SGD_PANEL, help="Learning rate.")
    ] = 0.01,
    momentum: MomentumOption = 0.0,
    weight_decay: WeightDecayOption = 0.0,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            metavar="B",
            rich_help_panel=SGD_PANEL,
            help="Samples a step, drawn in a fixed order (0..B-1, B..2B-1, …, "
            "wrapping) from the --input dataset; default: the whole batch every "
            "step.",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    every: Annotated[
        int | None,
        typer.Option(
            "--every",
            metavar="N",
            rich_help_panel=SGD_PANEL,
            help="Also print the full trace (every stage, with torch's) of steps 0, N, 2N and "
            "so on.",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    compare_torch: Annotated[
        bool,
        typer.Option(
            "--compare-torch/--no-compare-torch",
            rich_help_panel="Output",
            help="Run torch's own training loop beside ours and compare.",
        ),
    ] = True,  # fmt: skip
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            rich_help_panel="Output",
            help="One JSON document: the scenario, the steps (step, loss, reference_loss) and the "
            "stages (the final parameters).",
        ),
    ] = False,  # fmt: skip
    precision: Annotated[
        int,
        typer.Option(
            help="Significant digits of non-whole numbers.", min=0, max=12, rich_help_panel="Output"
        ),  # fmt: skip
    ] = 4,
    color: ColorOption = "auto",
    theme: ThemeOption = "default",
    export: ExportOption = None,
    quiet: QuietOption = False,
) -> None:
    """K steps of SGD, the loss curve, and torch's own training loop beside each step.

    Same scenario options as [bold]run[/bold]; the network starts from the run's weights.

    [bold]Examples[/bold]

      convtrace train --net "conv(4,3) relu maxpool(2) fc(3)" --size 8 --batch 4 --loss ce
          --steps 30 --lr 0.05 --seed 3
      convtrace train --scenario examples/lenet.toml --steps 20 --lr 1e-6 --momentum 0.9
      convtrace train --input digit3.png --resize 8 --normalize --target 1 --loss ce ...
      convtrace train ... --every 10                 the full trace of steps 0, 10, 20
      convtrace train ... --export curve.html        the curve as a handout (.svg .md .txt)

    Exit code 0 when every step's loss and the final parameters agree with torch's loop, 1
    when not, 2 for bad input, 130 when stopped by Ctrl-C (after printing the steps so far).
    """
    from ..core.optim import SGD
    from ..render.console import make_console, parse_color, parse_theme
    from ..scenario.build import build_scenario
    from ..tracing.train import train

    console = make_console(color=parse_color(color), theme=parse_theme(theme))
    handout = open_handout(export, quiet, theme)
    sgd = SGD(lr, momentum, weight_decay)
    for value, option in ((batch_size, "--batch-size"), (every, "--every")):
        if value is not None and value < 1:
            raise ParameterError(
                _("{option} must be at least 1; got {value}").format(option=option, value=value)
            )
    scenario = build_scenario(spec)
    total = scenario.x.shape[0]
    if batch_size is not None and batch_size > total:
        raise ParameterError(
            _("--batch-size {size} is more than the {total} samples of the input").format(
                size=batch_size, total=total
            )
        )
    with _progress(steps, quiet or json_out) as on_step:
        run = train(scenario, sgd, steps, batch_size=batch_size, reference=compare_torch,
                    every=every, on_step=on_step)  # fmt: skip
    if json_out:
        _json(run)
    if not json_out or handout is not None:
        _view(run, Report(console, handout, quiet or json_out, "convtrace train"), precision,
              handout)  # fmt: skip
    if run.interrupted:
        raise typer.Exit(INTERRUPTED)
    failing = run.failures() + [s for _k, t in run.traces for s in t.failures()]
    if failing:
        raise typer.Exit(1)


def _progress(steps: int, quiet: bool):
    """A context giving ``on_step`` that advances a progress bar on stderr (only for long runs
    watched on a terminal), else does nothing."""
    import contextlib

    if quiet or steps <= PROGRESS_FROM or not sys.stderr.isatty():
        return contextlib.nullcontext(None)

    @contextlib.contextmanager
    def bar():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(_("training…"), total=steps)

            def on_step(step):
                progress.update(task, completed=step.step + 1,
                                description=f"loss {step.loss:.4g}")  # fmt: skip

            yield on_step

    return bar()


def _json(run) -> None:
    """The document (see render/train_view.train_document), English in every language."""
    from ..render.train_view import train_document

    typer.echo(json.dumps(train_document(run)))


def _view(run, report: Report, precision: int, handout) -> None:
    from rich.align import Align
    from rich.text import Text

    from ..render.heading import scenario_heading
    from ..render.train_view import train_markdown, train_renderables

    heading = scenario_heading(run.scenario)
    report.print(Align.center(Text(heading, "ct.title")))
    if run.traces:
        from .output import OutputOptions
        from .show import print_view

        out = OutputOptions(precision=precision)
        for k, trace in run.traces:
            report.print(Text(_("— step {k}: the full trace —").format(k=k), "ct.heading"))
            failing = [s.name for s in trace.failures()]
            for target in _targets(report):
                print_view(target, trace, list(trace), out, (), failing, panels=True)
    for renderable in train_renderables(run, precision):
        report.print(renderable)
    if handout is not None and handout.suffix == ".md":
        handout.save(title="convtrace train", markdown=train_markdown(run, heading, precision))
    else:
        report.save()


def _targets(report: Report) -> list:
    targets = [] if report.quiet else [report.console]
    return targets + ([report.handout] if report.handout is not None else [])
