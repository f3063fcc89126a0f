"""Text a student's code influenced (exception text, names, file names), made safe to show.

``visible(text)``: every control character (C0, DEL, C1: ESC, CSI, OSC ...), every bidi or
zero-width format character and every lone surrogate becomes a visible ``\\x1b``/``\\u202e``
escape; at most ``lines`` lines of at most ``width`` characters each survive, joined by
``⏎`` (a newline in a one-line cell would let a student draw a fake row), with ``…`` where
anything was cut. Nothing a terminal interprets is left.

``markup(text)``: ``visible`` then Rich's own markup escape, for a string that goes through
Rich markup (``[link=…]``, ``[/]``, styles) — a table cell given as ``str`` is parsed as markup.

``csv_cell(text)``: ``visible`` and a leading ``=``, ``+``, ``-``, ``@``, tab or CR guarded
with ``'`` (OWASP's rule against formula injection in spreadsheets), unless the cell is a
plain number we wrote.
"""

from __future__ import annotations

import re
import unicodedata

WIDTH = 200
LINES = 1

_CUT = "…"
_NEWLINE = "⏎"
_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(ch: str) -> bool:
    """Control (Cc), format (Cf: bidi overrides, zero-width), surrogate (Cs), unassigned
    or private (Cn, Co) characters, and the Unicode line/paragraph separators."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Cn", "Co", "Zl", "Zp")


def _line(text: str, width: int) -> str:
    out, length = [], 0
    for ch in text:
        piece = _escape_char(ch) if _unsafe(ch) else ch
        if length + len(piece) > width:
            out.append(_CUT)
            break
        out.append(piece)
        length += len(piece)
    return "".join(out)


def visible(text, width: int = WIDTH, lines: int = LINES) -> str:
    """``text`` (anything: it is ``str()``-ed) with nothing a terminal interprets, at most
    ``lines`` lines of ``width`` characters, joined by ``⏎``."""
    if text is None:
        return ""
    text = str(text)
    if len(text) > width * lines * 12:  # no need to look at more than can be shown
        text = text[: width * lines * 12]
    parts = re.split(r"\r\n|\r|\n", text)
    shown = [_line(part, width) for part in parts[:lines]]
    result = _NEWLINE.join(shown)
    if len(parts) > lines and not result.endswith(_CUT):
        result += _NEWLINE + _CUT
    return result


def markup(text, width: int = WIDTH, lines: int = LINES) -> str:
    """``visible(text)`` with Rich markup escaped: safe inside a markup string."""
    from rich.markup import escape

    return escape(visible(text, width, lines))


def csv_cell(value) -> str:
    """A grade-book cell: ``visible`` text, a would-be formula defused with a leading ``'``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    text = visible(value, width=500)
    if text.startswith(_FORMULA) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
