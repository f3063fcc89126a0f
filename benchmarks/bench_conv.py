"""Conv2D(method="im2col") against torch's conv2d: times, GFLOP/s, ratios, memory.

Run from the repository root::

    python benchmarks/bench_conv.py                      # the issue's four layers, float32
    python benchmarks/bench_conv.py --preset large --repeat 9 --dtype float64

Everything runs in one process, one contender after the other on the same data, so the
ratios are meaningful on a shared machine as long as it stays quiet during the run (the
report says how much CPU other processes took); absolute times are not. The measuring code is
``convtrace.bench.runner``, shared with ``convtrace bench``; the table is
``convtrace.render.bench.report_text``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from convtrace.bench.presets import PRESETS  # noqa: E402
from convtrace.bench.runner import run_benchmark  # noqa: E402
from convtrace.render.bench import report_text  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=list(PRESETS), default="medium")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measurement (≥ 5)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args(argv)

    def step(label: str) -> None:
        print(f"  timing {label} …", file=sys.stderr, flush=True)

    report = run_benchmark(args.preset, args.repeat, args.dtype, on_step=step)
    print(report_text(report))


if __name__ == "__main__":
    main()
