"""What the scenario commands share: one run with a spinner (``run_trace``), the console for
--color and --theme (``styled_console``), and a --net network's layers (``net_layers``)."""

from __future__ import annotations

from ..scenario.spec import ScenarioSpec
from .output import spinner


def run_trace(spec: ScenarioSpec, *, backward: bool, compare_torch: bool, quiet: bool,
              only: str | None = None, cell: str | None = None, gradcheck: bool = False,
              sgd=None, convt: bool = False):  # fmt: skip
    """The run (see tracing/run.py) with a spinner unless ``quiet`` (JSON output); ``only``: an
    --only glob, refused before computing when no stage of this network matches it; ``cell``:
    explain's stage, refused likewise when this network has no sum for it; ``sgd``: one SGD
    step after the backward pass (--lr)."""
    from ..tracing.run import compute_trace
    from .output import check_only_pattern

    def before_run(layers):
        extra = ()
        if sgd is not None:
            from ..tracing.update import update_stage_names

            extra = update_stage_names(layers, sgd.momentum)
        check_only_pattern(only, layers, extra)
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
        sgd=sgd,
    )


def styled_console(color: str, theme: str):
    """The console for --color and --theme as typed (a bad value is a ConvtraceError)."""
    from ..render.console import make_console, parse_color, parse_theme

    return make_console(color=parse_color(color), theme=parse_theme(theme))


def net_layers(spec: ScenarioSpec):
    """A --net network's layers (named, as its stages), or None for the classroom network."""
    if not spec.net:
        return None
    from ..scenario.net import parse_net

    return parse_net(spec.net)
