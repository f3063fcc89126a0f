"""Showing a trace: on the terminal (all at once, or one stage per screen with --step), as
JSON, and as a handout file (--export); this module sets the exit code from the verdicts."""

from __future__ import annotations

import sys

import typer

from ..i18n import _, english
from .errors import fail
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
    summaries = [s for s in stages if s.name in summary_only]
    if stepped and _step(trace, full, out, console, summaries) is False:
        return  # q: the user asked to leave now
    # after stepping, the heading and the closing table (the summaries were the first screen)
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
    for stage in (s for s in stages if s.name in summary_only and panels):
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


def _step(trace, stages, out: OutputOptions, console, summaries=()) -> bool:
    """--step on a terminal: one stage per screen (see render/stepper.py), in stage order (for
    ``backward``, the forward summaries are the first screen); whether the user went past the
    last stage (True) or quit (False)."""
    from rich.align import Align
    from rich.console import Group
    from rich.text import Text

    from ..i18n import N_
    from ..render.console import MAX_WIDTH
    from ..render.heading import scenario_heading
    from ..render.stages import stage_summary_line
    from ..render.stepper import (
        read_terminal_key,
        stage_makers,
        step_through,
        terminal_size,
    )

    def makers_for(width: int):
        makers = stage_makers(
            trace, stages, precision=out.precision, width=width, side_by_side=out.side_by_side
        )
        if summaries:
            lines = [stage_summary_line(s, trace.tolerance, out.precision) for s in summaries]
            makers.insert(0, lambda rows, slices: Group(*lines))
        return makers

    names = [s.name for s in stages]
    sections = [N_("Backward") if s.is_gradient else N_("Forward") for s in stages]
    if summaries:
        names.insert(0, _("forward summary"))
        sections.insert(0, N_("Forward"))
    heading = Align.center(Text(scenario_heading(trace.scenario), style="ct.title"))

    def size():
        width, height = terminal_size()
        return min(width, MAX_WIDTH), height

    finished = step_through(
        makers_for(console.width),
        names,
        console,
        console.height,
        read_terminal_key,
        heading=heading,
        sections=sections,
        terminal_size=size,
        remake=makers_for,
    )
    if finished:
        console.clear()
    return finished
