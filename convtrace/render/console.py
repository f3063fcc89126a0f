"""The Rich console convtrace prints to, and the theme of named styles every view uses.

Colours are chosen for a classroom projector whose terminal may be dark or light: hues of middle
lightness that keep 4.5:1 on both backgrounds (tested), and bold / reverse for emphasis. With
``NO_COLOR`` set, Rich drops the colours but keeps bold, dim and reverse; the views also put the
information in the text itself (``✓``/``✗`` words, ``[6]`` around a chosen max-pool cell), so
nothing is lost.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.theme import Theme

from ..core.errors import ConvtraceError
from ..i18n import _

#: Width used when the terminal's width cannot be detected (a pipe, a file, CI).
DEFAULT_WIDTH = 100
#: Wider than this, grids and panels stop being readable from the back of the room.
MAX_WIDTH = 140

#: Named styles. Diverging heat scale: ``ct.pos.1``–``ct.pos.3`` (blue) and ``ct.neg.1``–
#: ``ct.neg.3`` (red), from small to large magnitude (plain, bold, bold reverse); exact zeros
#: ``ct.zero``. Every colour is one of the few xterm-256 colours that reach 4.5:1 (WCAG AA) on
#: black and on white alike, so the theme reads on a dark or a light terminal and on a projector;
#: nothing is ``dim`` (its contrast depends on the terminal), grey #767676 (4.6:1) stands in.
GREY = "#767676"
BLUE = "#5f5fff"
RED = "#af5f5f"
GREEN = "#00875f"
MAGENTA = "#d700af"
PURPLE = "#875fd7"
THEME = Theme(
    {
        "ct.ok": f"bold {GREEN}",
        "ct.bad": f"bold {RED}",
        "ct.name": f"bold {MAGENTA}",
        "ct.heading": f"bold {MAGENTA}",
        "ct.title": "bold",
        "ct.label": "bold",
        "ct.big": "bold",
        "ct.formula": "italic",
        "ct.dim": GREY,
        "ct.axis": GREY,
        "ct.zero": GREY,
        "ct.highlight": "bold reverse",
        "ct.shape": f"bold {PURPLE}",
        "ct.border": PURPLE,
        "ct.border.grad": MAGENTA,
        "ct.pos": BLUE,
        "ct.pos.1": BLUE,
        "ct.pos.2": f"bold {BLUE}",
        "ct.pos.3": f"bold reverse {BLUE}",
        "ct.neg": RED,
        "ct.neg.1": RED,
        "ct.neg.2": f"bold {RED}",
        "ct.neg.3": f"bold reverse {RED}",
        # Rich's own styles that our tables and rules use (its defaults: a dim caption, a
        # bright green rule line).
        "table.caption": GREY,
        "table.title": "bold",
        "rule.line": GREY,
    }
)

#: ``--theme high-contrast``, for projectors: no dim text, every digit bold, and no foreground
#: colour on the terminal's own background (no hue reaches 7:1 on both black and white; the
#: best mid-grey gets 4.6:1). Emphasis is the terminal's default foreground with bold /
#: underline / reverse, or white text on a dark background box (≥ 7:1 between the two).
HIGH_CONTRAST_THEME = Theme(
    {
        "ct.ok": "bold #ffffff on #005f00",
        "ct.bad": "bold #ffffff on #870000",
        "ct.name": "bold underline",
        "ct.heading": "bold underline",
        "ct.title": "bold",
        "ct.label": "bold underline",
        "ct.big": "bold",
        "ct.formula": "italic",
        "ct.dim": "none",
        "ct.axis": "none",
        "ct.zero": "bold",
        "ct.highlight": "bold reverse",
        "ct.shape": "bold",
        "ct.border": "bold",
        "ct.border.grad": "bold",
        "ct.pos": "bold",
        "ct.pos.1": "bold",
        "ct.pos.2": "bold",
        "ct.pos.3": "bold #ffffff on #00005f",
        "ct.neg": "bold",
        "ct.neg.1": "bold",
        "ct.neg.2": "bold",
        "ct.neg.3": "bold #ffffff on #5f0000",
        # Rich's own styles that our tables and rules use (its defaults: a dim caption, a
        # bright green rule line).
        "table.caption": "none",
        "table.title": "bold",
        "rule.line": "none",
    }
)

THEMES = {"default": THEME, "high-contrast": HIGH_CONTRAST_THEME}
COLOR_CHOICES = ("auto", "always", "never")


def _choice(value: str, choices, option: str) -> str:
    """``value`` lower-cased when it is one of ``choices``, else a ConvtraceError naming it."""
    chosen = str(value).strip().lower()
    if chosen not in choices:
        raise ConvtraceError(
            _("{option} must be one of {allowed}; got {value!r}").format(
                option=option, value=value, allowed=", ".join(choices)
            )
        )
    return chosen


def parse_color(value: str) -> str:
    """``--color`` as given (any case) → ``auto`` | ``always`` | ``never``."""
    return _choice(value, COLOR_CHOICES, "--color")


def parse_theme(value: str) -> str:
    """``--theme`` as given (any case) → ``default`` | ``high-contrast``."""
    return _choice(value, tuple(THEMES), "--theme")


def _detect_width(file) -> int:
    """The terminal's width in columns, or ``DEFAULT_WIDTH`` when there is no terminal."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    stream = sys.stdout if file is None else file
    try:
        detected = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return DEFAULT_WIDTH
    return detected if detected > 0 else DEFAULT_WIDTH


def make_console(
    *,
    width: int | None = None,
    file=None,
    force_terminal: bool | None = None,
    no_color: bool | None = None,
    color: str = "auto",
    theme: str = "default",
) -> Console:
    """A Console with convtrace's theme.

    width: None → the terminal's width, capped at ``MAX_WIDTH`` (``DEFAULT_WIDTH`` when it cannot
    be detected). no_color: None → Rich's rule (the ``NO_COLOR`` environment variable).
    color (``--color``): ``always`` → escape codes even into a pipe (``| less -R``), overriding
    NO_COLOR; ``never`` → no colour (bold and reverse stay, as with NO_COLOR); ``auto`` → Rich's
    rules (a terminal, NO_COLOR, FORCE_COLOR). Explicit force_terminal / no_color win.
    theme: a key of ``THEMES``.
    Rich's automatic highlighting of numbers and reprs is off: the views colour values themselves.
    """
    if width is None:
        width = min(_detect_width(file), MAX_WIDTH)
    if color == "always":
        force_terminal = True if force_terminal is None else force_terminal
        no_color = False if no_color is None else no_color
    elif color == "never":
        no_color = True if no_color is None else no_color
    return Console(
        width=width,
        file=file,
        force_terminal=force_terminal,
        no_color=no_color,
        theme=THEMES[theme],
        highlight=False,
        emoji=False,
    )
