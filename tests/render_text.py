"""Render Rich renderables to plain text at a fixed width, as the render tests compare them."""

from __future__ import annotations

import io

from convtrace.render.console import make_console


def render(*renderables, width: int = 100, **console_options) -> str:
    """The text of ``renderables`` printed on a ``width``-column console without colour
    (``console_options`` override, e.g. ``no_color=False``)."""
    options = {"force_terminal": False, "no_color": True, **console_options}
    console = make_console(width=width, file=io.StringIO(), **options)
    with console.capture() as capture:
        for renderable in renderables:
            console.print(renderable)
    return capture.get()
