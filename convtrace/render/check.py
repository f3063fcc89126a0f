"""Rich views of ``convtrace check``: the case table, the first failure, the folder table.

Every view fits 100 columns; ✓/✗ carry the verdict without colour (NO_COLOR, light terminals).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..check.cases import RTOL
from ..check.catalog import BUGS, CATALOG
from ..check.escape import visible
from ..check.grade import COMPONENTS, LABELS, RUNNING, CaseResult, FileResult
from ..i18n import N_, _
from .tensors import format_number

OK, BAD, NONE = Text("✓", "ct.ok"), Text("✗", "ct.bad"), Text("—", "ct.dim")
TOLERANCE = N_("|got − torch| ≤ {rtol:g} · max(1, max|torch|) per tensor, float64 inputs")


def _mark(value: bool | None) -> Text:
    return NONE if value is None else (OK if value else BAD)


def _geometry(case) -> str:
    s = case.spec
    if s.kind in ("bn", "sbn"):
        return "×".join(map(str, s.shape)) + f" {s.mode} eps={s.eps:g}"
    if s.kind in ("affine", "relu"):
        shape = "×".join(map(str, s.shape))
        return shape if s.kind == "relu" else f"{shape} → {s.outputs}"
    (h, w), (kh, kw) = s.hw, s.khw
    size = f"{s.batch}×{s.channels}×{h}×{w}"
    if s.kind == "pool":
        pool = _("max-pool {kernel}").format(kernel=f"{kh}×{kw}")
        return f"{size} {pool} s{s.stride}"
    pad = _("pad {padding}").format(padding=case.padding) if case.api == "cs231n" else s.padding
    return f"{size} F{s.filters} k{kh}×{kw} s{s.stride} {pad}"


def _shape(a) -> str:
    return str(tuple(int(n) for n in np.shape(a)))


def _note(r: CaseResult) -> str:
    outside = "" if r.counted else _("outside the contract, not counted") + "; "
    if r.status != "ok":
        return outside + (_(r.message) if r.message else r.status)
    parts = [outside.rstrip("; ")] if outside else []
    parts += list(r.diagnosis)
    if r.unexplained:
        parts.append(_("no known pattern: ") + ", ".join(LABELS[k] for k in r.unexplained))
    if r.printed:
        parts.append(_("printed {count:,} bytes").format(count=r.printed))
    return "; ".join(parts)


def case_table(result: FileResult) -> Group:
    """One table per section (convolution, max pooling, affine, ReLU), one row per case:
    geometry, then shape, forward, dW, dX, db as ✓/✗ and a note."""
    from ..check.cases import SECTIONS

    tables: list[RenderableType] = []
    for kind, title in SECTIONS.items():
        rows = [r for r in result.cases if r.case.spec.kind == kind]
        if not rows:
            continue
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                      header_style="ct.label", title=_(title), title_justify="left",
                      title_style="ct.title", collapse_padding=True)  # fmt: skip
        table.add_column(_("case"), style="ct.name", no_wrap=True)
        table.add_column(_("geometry"), no_wrap=True)
        bn = kind in ("bn", "sbn")  # dγ, dβ and bn_param's running statistics
        names = ("forward", "dγ", "dX", "dβ", "running") if bn else ("forward", "dF", "dX", "db")
        for name in (_("shape"), *names):
            table.add_column(name, justify="center", no_wrap=True)
        # a catalog id is one word: never folded in the middle (unpad-negative-sli / ce)
        widest = max((len(bug) for r in rows for bug in r.diagnosis), default=0)
        table.add_column(_("note"), overflow="fold", ratio=1, min_width=min(widest, 28) or None)
        for r in rows:
            checks = [r.checks.get(k) for k in COMPONENTS]
            if bn:
                running = [r.checks.get(k) for k in RUNNING if r.checks.get(k) is not None]
                checks.append(all(running) if running else None)
            shape = r.shape_ok if r.status == "ok" else False
            table.add_row(
                r.case.name, _geometry(r.case), _mark(shape), *map(_mark, checks), Text(_note(r))
            )
        tables.append(table)
    return Group(*tables)


def _cell_sum(r: CaseResult, component: str, index, precision: int) -> RenderableType | None:
    from ..check.cellsum import explain
    from .explain import VIEWS, terms_view
    from .explain_parts import num, verdicts

    e = explain(r, component, index)  # None: no sum (running statistics) or none writable
    if e is None:
        return None
    # explain's view, closing with the torch line only (the "trace" here is torch's values)
    title = Text(f"{e.cell} = ", style="ct.title")
    title.append(num(e.value, precision), style="ct.big")
    body = VIEWS.get(e.kind, terms_view)(e, precision)
    torch_line = verdicts(e, precision)[-1]
    return Group(title, Text(_(e.formula), style="ct.formula"), Text(""), *body, torch_line)


def findings_view(result: FileResult) -> RenderableType | None:
    """Each named mistake: its id, the section, the tensor and the evidence, what the code
    does, the fix."""
    from ..check.cases import SECTIONS

    parts: list[RenderableType] = []
    for f in result.findings:
        bug = BUGS[f.id]
        head = Text.assemble(
            (_("note ") if f.note else _("diagnosis "), "ct.label"),
            (f.id, "ct.dim" if f.note else "ct.bad"),
        )
        if f.kind:
            head.append(f"  ({_(SECTIONS[f.kind])})", "ct.label")
        if f.tensor and f.tensor != "file":
            head.append("  " + _("wrong: {tensors}").format(tensors=f.tensor), "ct.label")
        parts.append(head)
        parts.append(Padding(Text(_(f.evidence)), (0, 0, 0, 2)))
        parts.append(Padding(Text(_(bug.sentence)), (0, 0, 0, 2)))
        parts.append(Padding(Text.assemble((_("fix: "), "ct.label"), _(bug.fix)), (0, 0, 0, 2)))
    if not parts:
        return None
    return Panel(Group(*parts), title=_("diagnosis"), title_align="left", border_style="ct.border")


def failure_view(
    r: CaseResult, precision: int = 4, title: str | None = None, with_sum: bool = True
) -> RenderableType:
    """The first failing case: shapes, the first wrong cell, the diagnosis and its fix, and
    the expected cell written as its sum."""
    title = title or _("first failure")
    parts: list[RenderableType] = [Text(f"{r.case.name}: {_(r.case.describe())}", "ct.title")]
    if r.status != "ok":
        parts.append(Text(f"✗ {_(r.message)}", "ct.bad"))
        return Panel(Group(*parts), title=title, title_align="left")
    component = r.first_wrong()
    shapes = Table.grid(padding=(0, 2))
    for col in ("", _("expected (torch)"), _("got")):
        shapes.add_column(col)
    shapes.add_row(
        Text(_("tensor"), "ct.label"), Text(_("expected"), "ct.label"), Text(_("got"), "ct.label")
    )
    for k in (k for k in COMPONENTS + RUNNING if k in r.expected):
        got = _shape(r.got[k]) if k in r.got else _("not exposed")
        row_style = "ct.bad" if r.checks.get(k) is False else None
        shapes.add_row(LABELS[k], _shape(r.expected[k]), Text(got, row_style or ""))
    parts += [Text(""), shapes, Text("")]
    cell = r.first_wrong_cell(component)
    label = LABELS[component]
    if cell is not None:
        exp, got = float(r.expected[component][cell]), float(r.got[component][cell])
        where = f"{label}[{','.join(map(str, cell))}]"
        line = Text(_("first wrong cell {where}: expected ").format(where=where), "ct.label")
        line.append(format_number(exp, precision), "ct.ok")
        line.append(_(", got "), "ct.label")
        line.append(format_number(got, precision), "ct.bad")
        parts.append(line)
    else:
        parts.append(
            Text(
                _("{label} has shape {shape}, expected {expected}").format(
                    label=label,
                    shape=_shape(r.got.get(component)),
                    expected=_shape(r.expected[component]),
                ),
                "ct.bad",
            )
        )
    parts.append(Text(""))
    # shapes that differ have no aligned wrong cell: explain the expected tensor's first one
    shown = cell if cell is not None else (0,) * np.ndim(r.expected[component])
    view = None
    if with_sum and np.size(r.expected[component]):
        view = _cell_sum(r, component, shown, precision)
    if r.unexplained:
        names = ", ".join(LABELS[k] for k in r.unexplained)
        hint = _(": compare with the sum below") if view is not None else ""
        parts.append(Text(_("no known pattern for {names}").format(names=names) + hint, "ct.dim"))
    if view is not None:
        what = (
            _("the expected value, as its sum:")
            if cell is not None
            else _("the expected first cell, as its sum:")
        )
        parts += [Text(""), Text(what, "ct.label"), view]
    return Panel(Group(*parts), title=title, title_align="left", border_style="ct.border")


def summary_line(result: FileResult) -> Text:
    """'✗ 3 of 27 cases fail · score 88.9 = % of the 27 cases inside the contract that
    pass', the diagnosis ids, and the cases outside the contract."""
    if result.load_failure:
        text = Text(_("✗ the file does not run: ") + _(result.load_failure), "ct.bad")
        if result.diagnosis:
            text.append(_(" · diagnosis: ") + ", ".join(result.diagnosis), "ct.bad")
        return text
    counted = len(result.counted)
    failed = len(result.failed)
    score = _("score {score:g} = % of the {counted} cases inside the contract that pass").format(
        score=result.score, counted=counted
    )
    if not failed:
        text = Text(_("✓ {total} of {total} cases pass").format(total=counted) + " · " + score,
                    "ct.ok")  # fmt: skip
    else:
        text = Text(
            _("✗ {failed} of {total} cases fail").format(failed=failed, total=counted)
            + " · " + score, "ct.bad",
        )  # fmt: skip
        if result.diagnosis:
            text.append(_(" · diagnosis: ") + ", ".join(result.diagnosis), "ct.bad")
        if result.unexplained:
            text.append(_(" · no known pattern"), "ct.bad")
    outside = len(result.cases) - counted
    if outside:
        text.append(
            " · " + _("{outside} outside the contract, not counted").format(outside=outside),
            "ct.dim",
        )
    if result.notes:
        text.append(_(" · note: ") + ", ".join(result.notes), "ct.dim")
    return text


def isolation_line(isolation) -> Text:
    """``isolation: namespaces (user, pid, net, mount, ipc, uts)`` or limits only (dim when
    namespaces, in the warning style when not)."""
    style = "ct.dim" if str(isolation).startswith("namespaces") else "ct.bad"
    return Text(_("isolation: ") + _(isolation), style)


def file_view(result: FileResult, api: str, isolation=None, precision: int = 4) -> Group:
    """The whole report for one file."""
    title = _("convtrace check {path} · {api} API").format(path=visible(result.path, 500), api=api)
    parts: list[RenderableType] = [
        Text(title, "ct.title"),
        Text(_("tolerance: ") + _(TOLERANCE).format(rtol=RTOL), "ct.dim"),
        *([isolation_line(isolation)] if isolation is not None else []),
        *([Text(_(result.remark), "ct.dim")] if result.remark else []),
    ]
    if result.cases:
        parts.append(case_table(result))
    findings = findings_view(result)
    if findings is not None:
        parts.append(findings)
    failure = result.first_failure()
    if failure is not None:
        parts.append(failure_view(failure, precision, with_sum=result.smallest is None))
    if result.smallest is not None:
        parts.append(failure_view(result.smallest, precision, _("smallest failing case")))
    parts.append(summary_line(result))
    return Group(*parts)


def folder_table(rows: list[dict]) -> Table:
    """One row per file: score, first failing case, diagnosis ids (or the error)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, header_style="ct.label")
    table.add_column(_("file"), style="ct.name", overflow="fold")
    table.add_column("", no_wrap=True)
    table.add_column(_("score"), justify="right", no_wrap=True)
    table.add_column(_("first failing case"), overflow="fold")
    table.add_column(_("diagnosis"), overflow="fold", ratio=1)
    for row in rows:
        verdict = OK if row["passed"] else BAD
        diagnosis = (
            " ".join(row["diagnosis"])
            or _(row["error"])
            or _(row["note"])
            or ("" if row["passed"] else _("no known pattern"))
        )
        score = "—" if row["error"] and not row["diagnosis"] else f"{row['score']:g}"
        # every cell a Text: a file name or a message is never read as Rich markup
        table.add_row(
            Text(visible(row["file"], 500)),
            verdict,
            score,
            Text(row["first_failure"] or ""),
            Text(visible(diagnosis, 500)),
        )
    return table


def catalog_view() -> Table:
    """``convtrace check --list-bugs``: id, what the code does, the fix."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, header_style="ct.label")
    table.add_column("id", style="ct.name", no_wrap=True)
    table.add_column(_("the mistake, and the fix"), ratio=1)
    for bug in CATALOG:
        table.add_row(
            bug.id, Text.assemble(_(bug.sentence), "\n", (_("fix: "), "ct.label"), _(bug.fix))
        )
    return table


@contextlib.contextmanager
def check_progress(console: Console, total: int) -> Iterator[Callable[[str], None]]:
    """A transient progress bar over every case of every file; yields ``advance(label)``."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} " + _("cases")),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task(_("grading…"), total=total)

    def advance(label: str, steps: int = 1) -> None:
        progress.update(task, advance=steps, description=label)

    with progress:
        yield advance
