"""``--step``, the projector mode: one stage per screen, fitted to the terminal's height.

The loop clears the screen, prints the stage's panel (re-rendered with fewer grid rows and
slices until its title, formula and verdict fit above the footer) and a footer
``stage 6/23 · conv.out   Enter/→/space next · ←/b back · q quit``, then waits for a key.
Keys come from a ``read_key`` callable, so tests feed them; ``read_terminal_key`` is the real
one (single keys in raw mode, arrow keys as their escape sequences).
"""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Callable, Iterable, Sequence

from rich.console import Console, RenderableType
from rich.segment import Segment
from rich.text import Text

from ..i18n import N_, _
from ..tracing.stage import Stage, Trace
from .stages import highlights, traced_panel

#: A stage renderer: (max_rows, max_slices) → the stage's panel with grids that small.
StageMaker = Callable[[int, int], RenderableType]

#: Grid limits tried in turn, from the normal view to the smallest, until a panel fits.
FIT_LADDER: tuple[tuple[int, int], ...] = ((12, 4), (8, 2), (6, 1), (4, 1), (2, 1), (1, 1))

NEXT_KEYS = {"\r", "\n", " ", "\x1b[C", "\x1bOC", "n", "l"}
BACK_KEYS = {"\x1b[D", "\x1bOD", "b", "h"}
QUIT_KEYS = {"q", "Q", "\x03", "\x04", "\x1b", ""}  # Ctrl-C, Ctrl-D, Esc, end of input

KEYS_HELP = N_("Enter/→/space next · ←/b back · q quit")
#: Lines the footer takes at the bottom of each screen.
FOOTER_LINES = 1


def stage_makers(
    trace: Trace,
    stages: Iterable[Stage],
    *,
    precision: int = 4,
    width: int = 100,
    side_by_side: bool = False,
) -> list[StageMaker]:
    """For ``--step``: one callable per stage, ``(max_rows, max_slices) → its panel``, so the
    stepper can re-render a stage smaller until it fits the terminal's height."""
    marks = highlights(trace)

    def maker(stage: Stage):
        def make(max_rows: int, max_slices: int) -> RenderableType:
            return traced_panel(
                trace,
                stage,
                marks,
                precision=precision,
                width=width,
                side_by_side=side_by_side,
                max_rows=max_rows,
                max_slices=max_slices,
            )

        return make

    return [maker(stage) for stage in stages]


def footer(index: int, total: int, name: str) -> Text:
    """``stage 6/23 · conv.out   Enter/→/space next · ←/b back · q quit`` (1-based ``index``)."""
    return Text.assemble(
        (_("stage {index}/{total} · ").format(index=index, total=total), "ct.label"),
        (name, "ct.name"),
        "   ",
        (_(KEYS_HELP), "ct.dim"),
        no_wrap=True,
        overflow="ellipsis",
    )


def rendered_height(renderable: RenderableType, console: Console) -> int:
    """Lines ``renderable`` takes on ``console`` at its width."""
    return len(console.render_lines(renderable, console.options, pad=False))


def fit_to_height(make: StageMaker, console: Console, height: int) -> RenderableType:
    """The fullest rendering of a stage (along ``FIT_LADDER``) that takes at most ``height``
    lines; when none does, the shortest one with lines cut from its middle (``CutMiddle``), so
    the title, the formula and the verdict stay on screen."""
    shortest, shortest_height = None, None
    for max_rows, max_slices in FIT_LADDER:
        renderable = make(max_rows, max_slices)
        lines = rendered_height(renderable, console)
        if lines <= height:
            return renderable
        if shortest_height is None or lines < shortest_height:
            shortest, shortest_height = renderable, lines
    return CutMiddle(shortest, height)


class CutMiddle:
    """A renderable shown in at most ``height`` lines: its top (title, formula) and bottom
    (verdict) kept, one ``⋮ k lines not shown`` line in place of the middle."""

    def __init__(self, renderable: RenderableType, height: int):
        self.renderable = renderable
        self.height = max(height, 3)

    def __rich_console__(self, console: Console, options):
        lines = console.render_lines(self.renderable, options, pad=False)
        if len(lines) <= self.height:
            kept = lines
        else:
            tail = max(3, (self.height - 1) // 3)
            head = self.height - 1 - tail
            hidden = len(lines) - head - tail
            note = Text(
                _("⋮ {hidden} lines not shown: a taller terminal shows them").format(hidden=hidden),
                "ct.dim",
            )
            kept = [*lines[:head], console.render_lines(note, options, pad=False)[0]]
            kept += lines[-tail:]
        new_line = Segment.line()
        for line in kept:
            yield from line
            yield new_line


def step_through(
    stages: Sequence[StageMaker],
    names: Sequence[str],
    console: Console,
    height: int,
    read_key: Callable[[], str],
) -> bool:
    """Show ``stages`` one screen at a time until the user goes past the last one or quits.

    stages[i] renders stage ``names[i]``; height: the terminal's rows. Returns True when the
    user went past the last stage, False when they quit (q, Esc, Ctrl-C, end of input).
    """
    total = len(stages)
    cache: dict[int, RenderableType] = {}
    index = 0
    try:
        while 0 <= index < total:
            if index not in cache:
                cache[index] = fit_to_height(stages[index], console, height - FOOTER_LINES)
            console.clear()
            console.print(cache[index])
            console.print(footer(index + 1, total, names[index]), end="")
            key = read_key()
            if key in QUIT_KEYS:
                return False
            if key in BACK_KEYS:
                index = max(index - 1, 0)
            elif key in NEXT_KEYS:
                index += 1
    except KeyboardInterrupt:  # Ctrl-C while a stage renders: leave as cleanly as with q
        return False
    finally:
        console.print()
    return True


def read_terminal_key(stream=None) -> str:
    """One key press from a terminal in raw mode: a character, or an arrow key's escape
    sequence (``\\x1b[C`` right, ``\\x1b[D`` left); ``""`` at end of input. The terminal's
    mode is restored before returning, whatever happens."""
    import termios
    import tty

    fd = (stream or sys.stdin).fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)  # not TCSAFLUSH: keep keys typed while rendering
        key = os.read(fd, 1)
        if key == b"\x1b":  # an arrow key sends more bytes right away; Esc alone sends none
            while select.select([fd], [], [], 0.05)[0] and len(key) < 3:
                key += os.read(fd, 1)
        return key.decode("utf-8", errors="replace")
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def can_step() -> bool:
    """Whether a person is at a terminal: stdin and stdout are both ttys."""
    return all(s is not None and s.isatty() for s in (sys.stdin, sys.stdout))
