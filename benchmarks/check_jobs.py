"""`convtrace check FOLDER --jobs 1` against `--jobs 2`: wall times, ratios, identical grade books.

Run from the repository root, on a folder of submissions (the issue's measure is 36 files)::

    python benchmarks/check_jobs.py submissions/ --api cs231n --pairs 7

Each pair runs the whole command once with each --jobs, in alternating order (1 then 2, then 2
then 1, …) so that a slow spell of a shared machine does not always fall on the same side. It
prints every pair's wall times and ratio, the median ratio, the CPU that processes other than
these runs took during each run (from /proc/stat, where the system has it: a noisy pair shows
there), and whether the two --csv grade books were byte for byte the same in every pair.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _busy_seconds() -> float | None:
    """Seconds of CPU the whole machine has spent (all cores) since boot, or None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def _run(folder: str, api: str, jobs: int, csv: Path) -> tuple[float, float | None]:
    """Wall seconds of one check, and the machine's CPU seconds during it (ours included)."""
    command = [sys.executable, "-m", "convtrace", "check", folder, "--api", api,
               "--jobs", str(jobs), "--csv", str(csv)]  # fmt: skip
    before_cpu, before = _busy_seconds(), time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.monotonic() - before
    after_cpu = _busy_seconds()
    if done.returncode not in (0, 1):
        sys.exit(f"convtrace check exited {done.returncode}: {done.stderr.strip()[-300:]}")
    machine = None if before_cpu is None or after_cpu is None else after_cpu - before_cpu
    return wall, machine


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--api", default="cs231n", choices=["class", "cs231n"])
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args(argv)
    files = sorted(p for p in Path(args.folder).iterdir() if p.suffix in (".py", ".ipynb"))
    print(f"{len(files)} submissions in {args.folder}, --api {args.api}, {args.pairs} pairs")
    ratios, same = [], True
    with tempfile.TemporaryDirectory() as tmp:
        for pair in range(args.pairs):
            order = (1, 2) if pair % 2 == 0 else (2, 1)
            times, machine = {}, {}
            for jobs in order:
                times[jobs], machine[jobs] = _run(args.folder, args.api, jobs,
                                                  Path(tmp) / f"jobs{jobs}.csv")  # fmt: skip
            identical = (Path(tmp) / "jobs1.csv").read_bytes() == (
                Path(tmp) / "jobs2.csv"
            ).read_bytes()
            same &= identical
            ratio = times[1] / times[2]
            ratios.append(ratio)
            cpu = "" if machine[1] is None else (
                f"   machine CPU {machine[1]:.1f} s / {machine[2]:.1f} s"
            )  # fmt: skip
            verdict = "same CSV" if identical else "CSV DIFFERS"
            print(f"pair {pair + 1}: --jobs 1 {times[1]:6.2f} s   --jobs 2 {times[2]:6.2f} s   "
                  f"ratio {ratio:.2f}{cpu}   {verdict}")  # fmt: skip
    books = "identical" if same else "DIFFERENT"
    print(f"median ratio {statistics.median(ratios):.2f} (min {min(ratios):.2f}, "
          f"max {max(ratios):.2f}); grade books {books}")  # fmt: skip
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
