"""Handouts: the same view as the terminal, written to a file (``--export FILE``).

The format follows the suffix: ``.html`` (self-contained, colours kept, opens offline) and
``.svg`` (one image, for slides) by Rich's own recording export; ``.txt`` (plain, no escape
codes, no trailing spaces); ``.md`` (Markdown: a stage per heading, its formula, a table of
values with torch's beside a value where the two differ, the verdict; for views that are not a
trace, the plain text in a fenced block). Handouts are 100 columns wide, the projector's width.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from rich.console import Console
from rich.terminal_theme import TerminalTheme

from ..core.errors import InputFileError
from ..i18n import _
from .console import MAX_WIDTH, THEMES

SUFFIXES = (".html", ".svg", ".md", ".txt")
WIDTH = 100


def check_export_path(path) -> Path:
    """The ``--export`` path, refused before any work when its suffix is not a handout format
    or its folder cannot be written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        shown = f"'{path.suffix}'" if path.suffix else _("no suffix")
        raise InputFileError(
            _("--export {path}: {shown} is not a handout format; use {SUFFIXES}").format(
                path=path, shown=shown, SUFFIXES=", ".join(SUFFIXES)
            )
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputFileError(
            _("--export {path}: the folder {folder} does not exist").format(
                path=path, folder=folder
            )
        )
    if (
        path.is_dir()
        or not os.access(folder, os.W_OK)
        or (path.exists() and not os.access(path, os.W_OK))
    ):
        raise InputFileError(
            _("--export {path} cannot be written here (permission denied)").format(path=path)
        )
    return path


#: The handouts' page: white, black text, and an ANSI palette of dark tones that keep 4.5:1
#: on it (Rich's defaults put #808080, #c0c0c0 or bright yellow there; its SVG page is dark
#: grey, on which the theme's mid tones fall below 4.5:1). tests/cli/test_export.py measures
#: every colour an HTML or SVG handout uses against its background.
_DARK_TONES = [
    (0, 0, 0), (175, 0, 0), (0, 95, 0), (95, 95, 0),
    (0, 0, 175), (135, 0, 135), (0, 95, 135), (95, 95, 95),
]  # fmt: skip
HANDOUT_THEME = TerminalTheme((255, 255, 255), (0, 0, 0), _DARK_TONES, _DARK_TONES)


def recording_console(theme: str = "default") -> Console:
    """A console that records what it prints (100 columns, full colour) and shows nothing:
    the handouts' and the notebooks' (``force_jupyter=False``: inside Jupyter, Rich would
    otherwise display every print itself)."""
    return Console(
        record=True,
        width=min(WIDTH, MAX_WIDTH),
        file=io.StringIO(),
        force_terminal=True,
        force_jupyter=False,
        color_system="truecolor",
        theme=THEMES[theme],
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )


class Handout:
    """A recording console (100 columns, full colour) whose record is saved as ``path``.

    ``print`` takes what the terminal's console takes; ``save(markdown=...)`` writes the file
    (``markdown``: the trace's own Markdown document for ``.md``, else the text is fenced).
    """

    def __init__(self, path, theme: str = "default"):
        self.path = check_export_path(path)
        self.suffix = self.path.suffix.lower()
        self.console = recording_console(theme)

    @property
    def width(self) -> int:
        return self.console.width

    def print(self, *objects, **options) -> None:
        self.console.print(*objects, **options)

    def save(self, title: str = "convtrace", markdown: str | None = None) -> None:
        try:
            if self.suffix == ".html":
                self.console.save_html(str(self.path), theme=HANDOUT_THEME, clear=False)
            elif self.suffix == ".svg":
                self.console.save_svg(str(self.path), title=title, theme=HANDOUT_THEME, clear=False)
            else:
                text = self.console.export_text(clear=False, styles=False)
                text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
                if self.suffix == ".md":
                    text = markdown or f"# {title}\n\n```text\n{text}```\n"
                self.path.write_text(text, encoding="utf-8")
        except OSError as error:
            raise InputFileError(
                _("--export {path} could not be written ({value})").format(
                    path=self.path, value=error.strerror or error
                )
            ) from None
