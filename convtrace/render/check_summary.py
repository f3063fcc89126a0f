"""The class report of ``convtrace check --summarize`` as Rich renderables."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..check.escape import visible
from ..i18n import _


def _table(*columns) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, header_style="ct.label")
    for name, justify in columns:
        table.add_column(name, justify=justify, overflow="fold")
    return table


def summary_view(doc: dict) -> Group:
    parts = [
        Text(
            _("class report: {students} submissions, {passed} pass every case").format(
                students=doc["students"], passed=doc["passed"]
            ),
            "ct.title",
        )
    ]
    mistakes = _table((_("mistake"), "left"), (_("students"), "right"), (_("files"), "left"))
    for m in doc["mistakes"]:
        names = ", ".join(visible(f, 80) for f in m["files"])
        mistakes.add_row(Text(m["id"], "ct.name"), str(m["students"]), names)
    parts += [Text(_("Students per catalog mistake"), "ct.label"), mistakes]
    if doc["notes"]:
        notes = ", ".join(f"{n['id']} ({n['students']})" for n in doc["notes"])
        parts.append(Text(_("notes (no points lost): {notes}").format(notes=notes), "ct.dim"))
    if doc["no_diagnosis_below_100"]:
        files = ", ".join(visible(f, 80) for f in doc["no_diagnosis_below_100"])
        line = _("below 100 with no catalog mistake: {files}").format(files=files)
        parts.append(Text(line, "ct.dim"))
    if doc["cases"]:
        cases = _table((_("case"), "left"), (_("failed"), "right"), (_("rate"), "right"))
        for c in sorted(doc["cases"], key=lambda c: -c["rate"]):
            cases.add_row(c["case"], f"{c['failed']}/{c['submissions']}", f"{c['rate']:.0%}")
        parts += [Text(_("Failure rate per case"), "ct.label"), cases]
    if doc["tensors"]:
        tensors = _table((_("tensor"), "left"), (_("failed"), "right"), (_("rate"), "right"))
        for t in doc["tensors"]:
            tensors.add_row(t["tensor"], f"{t['failed']}/{t['checks']}", f"{t['rate']:.0%}")
        parts += [Text(_("Failure rate per tensor"), "ct.label"), tensors]
    histogram = _table((_("score"), "left"), (_("students"), "right"), ("", "left"))
    for b in doc["histogram"]:
        label = f"{b['from']}–{b['to']}"
        histogram.add_row(label, str(b["students"]), "█" * b["students"])
    parts += [Text(_("Score histogram"), "ct.label"), histogram]
    return Group(*parts)
