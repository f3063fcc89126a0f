"""The ``convtrace bench`` command, ready to register on the Typer app::

    from .bench import bench_command
    app.command("bench", rich_help_panel="Performance")(bench_command)

Kept apart from ``cli.py`` so the app stays a list of thin commands; importing this module
costs nothing (the timing code and torch are imported when the command runs).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

PANEL = "Benchmark"


class PresetName(str, Enum):  # noqa: UP042 (StrEnum is 3.11+; we support 3.10)
    small = "small"
    medium = "medium"
    large = "large"


class BenchDtype(str, Enum):  # noqa: UP042
    float32 = "float32"
    float64 = "float64"


def bench_command(
    preset: Annotated[
        PresetName,
        typer.Option(
            "--preset",
            help="Layer sizes: small (seconds), medium (the four layers of the performance "
            "issue), large (ResNet-like; ~1 GB of memory).",
            rich_help_panel=PANEL,
        ),
    ] = PresetName.small,
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat",
            "-r",
            min=1,
            help="Timed runs per measurement (the median is shown).",
            rich_help_panel=PANEL,
        ),
    ] = 5,
    dtype: Annotated[
        BenchDtype, typer.Option("--dtype", help="Floating-point type.", rich_help_panel=PANEL)
    ] = BenchDtype.float32,
) -> None:
    """Why im2col exists: time the loop method, im2col and PyTorch on the same layers.

    Forward and forward+backward (dW, dX, db) of Conv2D(method="im2col") next to torch's
    conv2d on every core, with GFLOP/s, the ratio to torch, numpy's matmul speed as the
    ceiling and the memory the column matrix costs; the loop method is timed on one small
    layer only (it is slow on purpose). Timings on a shared machine are noisy: compare the
    ratios, not the milliseconds.

    [bold]Examples[/bold]

      convtrace bench                          small layers, a few seconds
      convtrace bench --preset medium --repeat 9
      convtrace bench --preset large --dtype float64
    """
    from ..bench.runner import count_steps, run_benchmark
    from ..render.bench import bench_progress, report_view
    from ..render.console import make_console

    console = make_console()
    with bench_progress(console, count_steps(preset.value)) as on_step:
        report = run_benchmark(preset.value, repeat, dtype.value, on_step=on_step)
    console.print(report_view(report))
