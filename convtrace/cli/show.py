"""Showing a trace: on the terminal (all at once, or one stage per screen with --step), as
JSON, and as a handout file (--export); this module sets the exit code from the verdicts."""

from __future__ import annotations

import sys

import typer

from ..i18n import _, english
from .options import fail
from .output import OutputOptions


def show(trace, out: OutputOptions, *, summary_only=()) -> None:
    """Render the trace's stages (or print JSON), write the handout when asked, then set the
    exit code from the verdicts (1 when a stage disagrees)."""
    stages = trace.select(out.only)
    if out.only and not stages:
        fail(
            _("no stage matches --only {only!r}; stages are: {names}").format(
                only=out.only, names=", ".join(trace.names)
            )
        )
    failing = [s.name for s in stages if s.agrees(trace.tolerance) is False]
    if out.json:
        from ..render.json_out import check_document_size, write_trace_document

        check_document_size(stages, trace.scenario.max_elements)
        with english():  # the same document in every language
            write_trace_document(trace, stages, sys.stdout)
    elif not out.quiet:
        _terminal(trace, stages, out, summary_only, failing)
    if out.export:
        _export(trace, stages, out, summary_only, failing)
    if failing:
        raise typer.Exit(1)


def _terminal(trace, stages, out: OutputOptions, summary_only, failing) -> None:
    from ..render.console import make_console

    console = make_console(color=out.color, theme=out.theme)
    full = [s for s in stages if s.name not in summary_only]
    stepped = out.step and bool(full) and _can_step()
    if stepped and _step(trace, full, out, console) is False:
        return  # q: the user asked to leave now
    print_view(console, trace, stages, out, summary_only, failing, panels=not stepped)


def _export(trace, stages, out: OutputOptions, summary_only, failing) -> None:
    """The same view, recorded at 100 columns, saved as out.export (.html .svg .md .txt)."""
    from ..render.export import Handout
    from ..render.heading import scenario_heading

    handout = Handout(out.export, out.theme)
    markdown = None
    if handout.suffix == ".md":  # its own document: a heading and a table per stage
        from ..render.markdown import trace_markdown

        heading = scenario_heading(trace.scenario)
        markdown = trace_markdown(trace, stages, out.precision, heading)
    else:
        print_view(handout, trace, stages, out, summary_only, failing, panels=True)
    handout.save(title="convtrace", markdown=markdown)


def print_view(target, trace, stages, out: OutputOptions, summary_only, failing, *, panels):
    """Heading, the summary lines of ``summary_only`` stages, every other stage's panel (when
    ``panels``), the closing table and the failures, printed to ``target`` (a Console or a
    Handout)."""
    from rich.text import Text

    from ..render.closing import closing_table, disagreement_line
    from ..render.heading import scenario_heading
    from ..render.stages import stage_summary_line, trace_renderables

    rtol = trace.tolerance
    target.print(scenario_heading(trace.scenario), style="ct.title", justify="center")
    for stage in (s for s in stages if s.name in summary_only):
        target.print(stage_summary_line(stage, rtol, precision=out.precision))
    if panels:
        renderables = trace_renderables(
            trace,
            stages=[s for s in stages if s.name not in summary_only],
            precision=out.precision,
            width=target.width,
            side_by_side=out.side_by_side,
        )
        for renderable in renderables:
            target.print(renderable)
        for stage in (s for s in stages if "convt" in s.meta):
            from ..render.equivalence import equivalence_panel

            target.print(equivalence_panel(trace, stage, out.precision))
    if trace.has_reference or any(s.alternatives for s in stages):
        target.print(closing_table(stages, rtol))
    else:
        target.print("[ct.dim]" + _("torch comparison skipped (--no-compare-torch)") + "[/]")
    if failing:
        target.print(Text(disagreement_line(failing), "ct.bad"))


def _can_step() -> bool:
    from ..render.stepper import can_step

    return can_step()


def _step(trace, stages, out: OutputOptions, console) -> bool:
    """--step on a terminal: one stage per screen (see render/stepper.py); whether the user
    went past the last stage (True) or quit (False)."""
    from ..render.stepper import read_terminal_key, stage_makers, step_through

    makers = stage_makers(
        trace, stages, precision=out.precision, width=console.width, side_by_side=out.side_by_side
    )
    names = [s.name for s in stages]
    finished = step_through(makers, names, console, console.height, read_terminal_key)
    if finished:
        console.clear()
    return finished
