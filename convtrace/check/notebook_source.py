"""A Jupyter notebook submission as the Python file the grader runs: its code cells in order.

IPython-only lines (``%magic``, ``%%cell magic``, ``!shell``, ``x = !cmd``) are not Python and
would stop the file from loading; they are dropped (a ``%%`` cell whole) and counted in a note
so the student knows. The result is graded in the same sandbox as a ``.py``.
"""

from __future__ import annotations

import json
import re

from ..i18n import _

_SHELL_ASSIGN = re.compile(r"^\s*[A-Za-z_][\w.]*\s*=\s*[!%]")


def _ipython_only(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(("%", "!")) or bool(_SHELL_ASSIGN.match(line))


def notebook_to_python(text: str) -> tuple[str, int, int]:
    """(the code cells joined in order, the number of code cells, lines dropped).

    Raises ValueError when ``text`` is not a notebook."""
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(_("not a Jupyter notebook: {error}").format(error=error)) from None
    parts, dropped, count = [], 0, 0
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        count += 1
        lines = source.splitlines()
        if lines and lines[0].lstrip().startswith("%%"):  # a cell magic: the cell is not Python
            dropped += len(lines)
            continue
        kept = []
        for line in lines:
            if _ipython_only(line):
                dropped += 1
                indent = line[: len(line) - len(line.lstrip())]
                kept.append(indent + "pass  # (convtrace: IPython line dropped)")
            else:
                kept.append(line)
        parts.append(f"# --- cell {count}\n" + "\n".join(kept))
    return "\n\n".join(parts) + "\n", count, dropped


def note(cells: int, dropped: int) -> str:
    """The sentence the report carries about the extraction."""
    return _("notebook: {cells} code cells run in order; {dropped} IPython lines (magics, !) "
             "dropped").format(cells=cells, dropped=dropped)  # fmt: skip
