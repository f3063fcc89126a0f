"""Views of a benchmark report: Rich (a progress bar while timing, then tables) for
``convtrace bench``, plain text for ``benchmarks/bench_conv.py``.

The numbers come from ``convtrace.bench`` (records only); this module only lays them out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich import box
from rich.console import Console, Group
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..bench.runner import PHASES, load_note

MIB = 2.0**20


@contextlib.contextmanager
def bench_progress(console: Console, total: int) -> Iterator[Callable[[str], None]]:
    """A transient progress bar; yields the ``on_step(label)`` callback ``run_benchmark`` takes.

    Each call completes the previous step and shows ``label`` as the one now running.
    """
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} layers"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task("starting…", total=total)
    started = False

    def on_step(label: str) -> None:
        nonlocal started
        if started:
            progress.advance(task)
        started = True
        progress.update(task, description=f"timing {label}")

    with progress:
        yield on_step
        progress.update(task, completed=total)


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:,.2f}"


def _ratio(r: float | None) -> Text:
    """im2col time / torch time, green when within 1.5×."""
    if r is None:
        return Text("—", style="ct.dim")
    return Text(f"{_compact(r)}×", style="ct.ok" if r <= 1.5 else "ct.bad")


def _compact(value: float) -> str:
    """Three significant digits in at most five characters: 2.94, 13.8, 157, 12345."""
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _speedup(slow: float | None, fast: float | None) -> str:
    return "—" if slow is None or fast is None else f"×{_compact(slow / fast)}"


def _table(title: str, **kwargs) -> Table:
    """A light table that fits a 100-column projector: no vertical rules, one space apart."""
    return Table(
        title=title,
        title_style="ct.heading",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        show_edge=False,
        **kwargs,
    )


def _label(r) -> str:
    """The layer in few characters: ``16×32×32×32→64 3×3 s1 same``."""
    return r.spec.label.replace(" → ", "→").replace(", ", " ")


def timing_table(report) -> Table:
    """One row per layer: times of im2col and torch, their ratio, and the speed-ups."""
    table = _table(
        f"Conv2D im2col vs torch · preset {report.preset} · {report.dtype} · "
        f"median of {report.repeat}",
        show_footer=True,
        footer_style="bold",
    )
    # the loop layer is there for the speed-up column, not for the mean
    footer = f"geometric mean of {len(report.layers)}"
    table.add_column("layer", footer=footer, style="ct.label", no_wrap=True)
    for phase, name in (("forward", "fwd"), ("forward_backward", "f+b")):
        table.add_column(f"im2col\n{name} ms", justify="right", no_wrap=True)
        table.add_column(f"torch\n{name} ms", justify="right", no_wrap=True)
        table.add_column(
            f"ratio\n{name}",
            justify="right",
            no_wrap=True,
            footer=_ratio(report.geomean_ratio(phase)),
        )
    table.add_column("f+b speed-up\nloop→im2col→torch", justify="right", no_wrap=True)
    rows = list(report.layers) + ([report.loop] if report.loop is not None else [])
    for r in rows:
        fb = r.seconds["forward_backward"]
        table.add_row(
            _label(r),
            _ms(r.seconds["forward"]["im2col"]),
            _ms(r.seconds["forward"]["torch"]),
            _ratio(r.ratio("forward")),
            _ms(fb["im2col"]),
            _ms(fb["torch"]),
            _ratio(r.ratio("forward_backward")),
            ("loop " if r is report.loop else "")
            + f"{_speedup(fb.get('loop'), fb['im2col'])}→{_speedup(fb['im2col'], fb['torch'])}",
        )
    return table


def ceiling_table(report) -> Table:
    """Throughput against the GEMM ceiling, and the memory the column matrix costs."""
    table = _table("What bounds im2col (GFLOP/s, then MiB)")
    table.add_column("layer", style="ct.label", no_wrap=True)
    table.add_column("GEMM\nF×K×N·L", justify="right", no_wrap=True)
    table.add_column("matmul\nalone", justify="right", no_wrap=True)
    for method in ("im2col", "torch"):
        table.add_column(f"{method}\nfwd", justify="right", no_wrap=True)
        table.add_column(f"{method}\nf+b", justify="right", no_wrap=True)
    for column in ("cols", "peak"):
        table.add_column(column, justify="right", no_wrap=True)
    for r in report.layers:
        table.add_row(
            _label(r),
            "×".join(map(str, r.spec.gemm)),
            f"{r.ceiling_gflops:,.0f}",
            *(f"{r.gflops(m, phase):,.0f}" for m in ("im2col", "torch") for phase in PHASES),
            f"{r.cols_bytes / MIB:,.1f}",
            f"{r.peak_bytes / MIB:,.1f}",
        )
    return table


def machine_lines(machine: dict[str, str]) -> list[str]:
    """The machine the figures come from: CPU and torch, then numpy and its BLAS."""
    m = machine
    return [
        f"CPU {m.get('cpu')}, {m.get('cores')} cores · torch {m.get('torch')}",
        f"numpy {m.get('numpy')} with {m.get('blas')}",
    ]


def machine_line(report) -> Text:
    text = Text("".join(f"{line}\n" for line in machine_lines(report.machine)), style="ct.dim")
    busy = report.other_load is not None and report.other_load > 0.1
    text.append(load_note(report), style="ct.bad" if busy else "ct.dim")
    return text


def report_view(report) -> Group:
    """Everything ``convtrace bench`` prints after timing."""
    notes = Text(
        "ratio = im2col time / torch time (lower is better; ≤ 1.5× in green). The loop layer "
        "computes the same sums in Python loops: that is why im2col exists. cols: the column "
        "matrix, C·kh·kw × N·L numbers (kh·kw times the input at stride 1); peak: one forward.",
        style="ct.dim",
    )
    gap = Text("")
    return Group(
        machine_line(report), gap, timing_table(report), gap, ceiling_table(report), gap, notes
    )


# --- plain text -------------------------------------------------------------------------


def _cells(values, width: int = 9) -> str:
    return "".join(f"{v:>{width}}" for v in values)


def report_text(report) -> str:
    """The report as plain-text tables (what ``benchmarks/bench_conv.py`` prints)."""

    def ms(t):
        return "—" if t is None else f"{t * 1e3:.2f}"

    def ratio(r):
        return "—" if r is None else f"{r:.2f}×"

    w = 34
    lines = [
        f"Conv2D im2col vs torch — preset {report.preset}, {report.dtype}, "
        f"median of {report.repeat} after a warm-up",
        *machine_lines(report.machine),
        load_note(report),
        "",
        f"{'layer':<{w}}" + _cells(["fwd ms", "torch", "ratio", "f+b ms", "torch", "ratio"]),
    ]
    for r in report.layers:
        fwd, fb = r.seconds["forward"], r.seconds["forward_backward"]
        cells = [ms(fwd["im2col"]), ms(fwd["torch"]), ratio(r.ratio("forward"))]
        cells += [ms(fb["im2col"]), ms(fb["torch"]), ratio(r.ratio("forward_backward"))]
        lines.append(f"{r.spec.label:<{w}}" + _cells(cells))
    means = [ratio(report.geomean_ratio(phase)) for phase in PHASES]
    lines.append(f"{'geometric mean of the ratios':<{w}}" + _cells(["", "", means[0], "", ""]))
    lines[-1] += _cells([means[1]])
    lines += [
        "",
        f"{'GFLOP/s':<{w}}"
        + _cells(["fwd", "torch", "f+b", "torch", "ceiling"])
        + _cells(["input MiB", "cols MiB", "peak MiB"], 10),
    ]
    for r in report.layers:
        flops = [f"{r.gflops(meth, ph):.1f}" for ph in PHASES for meth in ("im2col", "torch")]
        mib = [f"{b / MIB:.2f}" for b in (r.input_bytes, r.cols_bytes, r.peak_bytes)]
        lines.append(
            f"{r.spec.label:<{w}}" + _cells([*flops, f"{r.ceiling_gflops:.1f}"]) + _cells(mib, 10)
        )
    lines.append("(ceiling: numpy matmul (F, K) @ (K, N·L) alone; peak: one im2col forward)")
    if report.loop is not None:
        lp = report.loop
        lines += ["", f"Why im2col exists — {lp.spec.label}:"]
        for phase, name in (("forward", "forward"), ("forward_backward", "fwd+bwd")):
            t = lp.seconds[phase]
            lines.append(
                f"  {name:<8} loop {ms(t['loop'])} ms → im2col {ms(t['im2col'])} ms "
                f"({lp.ratio(phase, 'loop', 'im2col'):.0f}× faster) → torch {ms(t['torch'])} ms "
                f"(im2col takes {ratio(lp.ratio(phase))} torch's time)"
            )
    return "\n".join(lines)
