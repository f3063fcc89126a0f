"""The Rich console convtrace prints to, and the theme of named styles every view uses.

Colours are chosen for a classroom projector whose terminal may be dark or light: medium-lightness
hues (no white, no yellow, no pale cyan) that keep their contrast on both backgrounds, and bold /
reverse for emphasis. With ``NO_COLOR`` set, Rich drops the colours but keeps bold, dim and
reverse; the views also put the information in the text itself (``✓``/``✗`` words, ``[6]`` around
a chosen max-pool cell), so nothing is lost.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.theme import Theme

#: Width used when the terminal's width cannot be detected (a pipe, a file, CI).
DEFAULT_WIDTH = 100
#: Wider than this, grids and panels stop being readable from the back of the room.
MAX_WIDTH = 140

#: Named styles. Diverging heat scale: ``ct.pos.1``–``ct.pos.3`` (blue) and ``ct.neg.1``–
#: ``ct.neg.3`` (red), from small to large magnitude; exact zeros are ``ct.zero``.
THEME = Theme(
    {
        "ct.ok": "bold green",
        "ct.bad": "bold red",
        "ct.name": "bold magenta",
        "ct.shape": "bold blue",
        "ct.title": "bold",
        "ct.formula": "italic",
        "ct.dim": "dim",
        "ct.label": "bold",
        "ct.axis": "dim",
        "ct.big": "bold",
        "ct.highlight": "bold reverse",
        "ct.heading": "bold magenta",
        "ct.border": "blue",
        "ct.border.grad": "magenta",
        "ct.zero": "dim",
        "ct.pos": "#005fd7",
        "ct.pos.1": "#8787af",
        "ct.pos.2": "#5f87d7",
        "ct.pos.3": "bold #005fd7",
        "ct.neg": "#d70000",
        "ct.neg.1": "#af8787",
        "ct.neg.2": "#d75f5f",
        "ct.neg.3": "bold #d70000",
    }
)


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
) -> Console:
    """A Console with convtrace's theme.

    width: None → the terminal's width, capped at ``MAX_WIDTH`` (``DEFAULT_WIDTH`` when it cannot
    be detected). no_color: None → Rich's rule (the ``NO_COLOR`` environment variable).
    Rich's automatic highlighting of numbers and reprs is off: the views colour values themselves.
    """
    if width is None:
        width = min(_detect_width(file), MAX_WIDTH)
    return Console(
        width=width,
        file=file,
        force_terminal=force_terminal,
        no_color=no_color,
        theme=THEME,
        highlight=False,
        emoji=False,
    )
