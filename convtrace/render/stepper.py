"""``--step``, the projector mode: one stage per screen, fitted to the terminal's height.

The loop clears the screen, prints the scenario heading and the Forward / Backward rule, the
stage's panel (re-rendered with fewer grid rows and slices until its title, formula and verdict
fit above the footer) and a footer ``stage 6/23 · conv.out   Enter/→/space next · …``, then
waits for a key: next, back, first (g, Home), last (G, End), or a stage number or ``:name``
and Enter to jump. A resize redraws the screen at the new size. Keys come from a ``read_key``
callable, so tests feed them; ``read_terminal_key`` is the real one (single keys in raw mode,
arrow, Home and End keys as their escape sequences, ``RESIZE`` when the terminal's size
changed while it waited).
"""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Callable, Iterable, Sequence

from rich.console import Console, RenderableType
from rich.rule import Rule
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
FIRST_KEYS = {"g", "\x1b[H", "\x1bOH", "\x1b[1~", "\x1b[7~"}  # g, Home
LAST_KEYS = {"G", "\x1b[F", "\x1bOF", "\x1b[4~", "\x1b[8~"}  # G, End
QUIT_KEYS = {"q", "Q", "\x03", "\x04", "\x1b", ""}  # Ctrl-C, Ctrl-D, Esc, end of input
ERASE_KEYS = {"\x7f", "\x08"}
#: What ``read_key`` returns when the terminal changed size while it waited.
RESIZE = "\x00resize"

KEYS_HELP = N_("Enter/→/space next · ←/b back · g/G ends · 7⏎ :name⏎ jump · q quit")
KEYS_HELP_SHORT = N_("⏎ next · ← back · g/G · 7⏎ :name⏎ · q")
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


def footer(index: int, total: int, name: str, width: int = 100, typed: str = "") -> Text:
    """``stage 6/23 · conv.out   Enter/→/space next · …`` (1-based ``index``); the keys'
    short form when the long one does not fit ``width``; ``typed``: a jump being typed."""
    where = Text.assemble(
        (_("stage {index}/{total} · ").format(index=index, total=total), "ct.label"),
        (name, "ct.name"),
        "   ",
    )
    if typed:
        keys = Text.assemble((_("go to: "), "ct.label"), typed, ("▏  ⏎ · Esc", "ct.dim"))
    else:
        keys = Text(_(KEYS_HELP), "ct.dim")
        if where.cell_len + keys.cell_len > width:
            keys = Text(_(KEYS_HELP_SHORT), "ct.dim")
    line = Text.assemble(where, keys, no_wrap=True, overflow="ellipsis")
    return line


def jump_target(typed: str, names: Sequence[str]) -> int | None:
    """The stage a typed jump means: ``7`` the 7th, ``:conv.out`` (or ``:conv.o``, a prefix)
    that stage; None when nothing matches."""
    if typed.isdigit():
        number = int(typed)
        return number - 1 if 1 <= number <= len(names) else None
    wanted = typed.lstrip(":").strip()
    if not wanted:
        return None
    for test in (str.__eq__, str.startswith, str.__contains__):
        for i, name in enumerate(names):
            if test(name, wanted):
                return i
    return None


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
    *,
    heading: RenderableType | None = None,
    sections: Sequence[str] | None = None,
    terminal_size: Callable[[], tuple[int, int]] | None = None,
    remake: Callable[[int], Sequence[StageMaker]] | None = None,
) -> bool:
    """Show ``stages`` one screen at a time until the user goes past the last one or quits.

    stages[i] renders stage ``names[i]``; height: the terminal's rows. Every screen starts with
    ``heading`` (the scenario) and the rule of its section (``sections[i]``: Forward or
    Backward). Keys: next, back, g/Home first, G/End last, a number or ``:name`` then Enter to
    jump there (Backspace, Esc cancel the typing). When ``read_key`` returns ``RESIZE`` (or
    ``terminal_size()`` changed), the screens are rebuilt at the new size (``remake(width)``
    gives the stage makers for it). Returns True when the user went past the last stage, False
    when they quit (q, Esc, Ctrl-C, end of input).
    """
    total = len(stages)
    cache: dict[int, RenderableType] = {}
    index, typed = 0, ""
    size = terminal_size() if terminal_size is not None else (console.width, height)

    def top(i: int) -> list[RenderableType]:
        parts: list[RenderableType] = []
        if heading is not None:
            parts.append(heading)
        if sections is not None:
            parts.append(Rule(Text(_(sections[i]), "ct.heading"), style="ct.dim"))
        return parts

    try:
        while 0 <= index < total:
            if terminal_size is not None and terminal_size() != size:
                size = terminal_size()
                console.size = size
                height = size[1]
                if remake is not None:
                    stages = remake(size[0])
                cache.clear()
            if index not in cache:
                above = sum(rendered_height(part, console) for part in top(index))
                room = max(height - FOOTER_LINES - above, 3)
                cache[index] = fit_to_height(stages[index], console, room)
            console.clear()
            for part in top(index):
                console.print(part)
            console.print(cache[index])
            console.print(footer(index + 1, total, names[index], console.width, typed), end="")
            key = read_key()
            if key == RESIZE:
                continue
            if typed:
                if key in ("\r", "\n"):
                    target = jump_target(typed, names)
                    index = index if target is None else target
                    typed = ""
                elif key in ERASE_KEYS:
                    typed = typed[:-1]
                elif key in ("\x1b", "\x03"):
                    typed = ""
                elif key.isprintable() and len(key) == 1:
                    typed += key
                continue
            if key in QUIT_KEYS:
                return False
            if key.isdigit() or key == ":":
                typed = key
            elif key in FIRST_KEYS:
                index = 0
            elif key in LAST_KEYS:
                index = total - 1
            elif key in BACK_KEYS:
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
    size = terminal_size()
    try:
        tty.setraw(fd, termios.TCSANOW)  # not TCSAFLUSH: keep keys typed while rendering
        while not select.select([fd], [], [], 0.2)[0]:
            if terminal_size() != size:  # resized while waiting: redraw at the new size
                return RESIZE
        key = os.read(fd, 1)
        if key == b"\x1b":  # an arrow key sends more bytes right away; Esc alone sends none
            while select.select([fd], [], [], 0.05)[0] and len(key) < 4:
                key += os.read(fd, 1)
                if key[-1:].isalpha() or key[-1:] == b"~":  # the sequence's last byte
                    break
        return key.decode("utf-8", errors="replace")
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def terminal_size() -> tuple[int, int]:
    """(columns, rows) of the terminal on stdout now (what a resize changes)."""
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return (100, 30)
    return size.columns, size.lines


def can_step() -> bool:
    """Whether a person is at a terminal: stdin and stdout are both ttys."""
    return all(s is not None and s.isatty() for s in (sys.stdin, sys.stdout))
