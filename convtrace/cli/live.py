"""``convtrace live``: the same scenario as ``run``, explored in a full-screen Textual app.

A thin shell: the trace is built exactly as for ``run`` (with torch's reference); Textual is
imported only here, inside the command, so ``convtrace --help`` never loads it.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..i18n import _
from ..scenario.spec import ScenarioSpec
from .errors import fail, guarded
from .options import scenario_options
from .sgd_options import LrOption, MomentumOption, WeightDecayOption, make_sgd


@guarded
@scenario_options
def live_command(
    spec: ScenarioSpec,
    precision: Annotated[
        int, typer.Option(help="Significant digits of non-whole numbers.", min=0, max=12)
    ] = 4,
    lr: LrOption = None,
    momentum: MomentumOption = 0.0,
    weight_decay: WeightDecayOption = 0.0,
) -> None:
    """A full-screen view of every stage: the stage list, the tensor with a cell cursor, the
    cell's sum term by term, and window-by-window animations of conv.out, pool.out and
    grad.input. Same scenario options as [bold]run[/bold].

    [bold]Keys[/bold]: ↑↓/jk stage · Enter open · arrows/jk cell · [ ] slice · t torch ·
    space play · . , step · + - speed · PgUp/PgDn the sum · Esc back · u SGD step (with --lr) ·
    ? keys · q quit

    [bold]Examples[/bold]

      convtrace live --seed 42
      convtrace live --padding same --stride 2 --size 7
      convtrace live --net "conv(4,3) relu maxpool(2) fc(3)" --size 10 --loss ce
      convtrace live --seed 42 --lr 0.01        u: one SGD step, the stages update in place
    """
    if not in_a_terminal():
        fail(_("convtrace live needs a terminal (stdin and stdout); in a pipe use convtrace run"))
    from ..tracing.run import compute_trace
    from .output import spinner

    sgd = make_sgd(lr, momentum, weight_decay)
    trace = compute_trace(spec, status=lambda message: spinner(message, quiet=False), sgd=sgd)
    from ..live.app import LiveApp

    LiveApp(
        trace, precision=precision, sgd=sgd
    ).run()  # in the language guarded set (--lang / LANG)


def in_a_terminal() -> bool:
    """stdin and stdout are both a terminal (a full-screen app needs both)."""
    return sys.stdin.isatty() and sys.stdout.isatty()
