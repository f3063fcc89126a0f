"""Benchmark runner: Conv2D (im2col, and loop on a small layer) against torch's conv2d.

Pure functions returning records, used by ``benchmarks/bench_conv.py`` (plain text) and by
``convtrace bench`` (Rich); both views live in ``convtrace.render.bench``. Nothing is printed
here, and torch is imported only inside the functions that time it.

Per layer, in ONE process (on a shared, noisy machine only ratios measured side by side mean
anything), the median of ``repeat`` runs after one warm-up run of each contender:

- forward, and forward + backward (dW, dX, db), of ``Conv2D(method="im2col")``;
- the same for ``torch.nn.functional.conv2d`` using every core (forward under ``no_grad``,
  backward by autograd; an asymmetric "same" padding is an explicit ``F.pad``, as in tests);
- ``Conv2D(method="loop")`` on the preset's small loop layer only (slow on purpose);
- numpy's own ``matmul`` GFLOP/s at the forward's GEMM size (F, K) @ (K, N*L): the ceiling;
- the peak memory of one im2col forward on a fresh layer (tracemalloc), next to the input
  and the column matrix X: (K, N*L), K = C*kh*kw, which is kh*kw times the input at stride 1.

Flops: forward ``2*N*F*K*L`` (L = H_out*W_out); forward + backward three times that (dW, dX).
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..core.layers.conv import Conv2D
from .presets import PRESETS, LayerSpec

PHASES = ("forward", "forward_backward")
METHODS = ("loop", "im2col", "torch")
#: Pause before each contender, for the other library's idle threads to stop spinning.
SETTLE_SECONDS = 0.3


@dataclass
class LayerResult:
    """Median seconds per phase and method, plus the layer's ceiling and memory figures."""

    spec: LayerSpec
    dtype: str
    seconds: dict[str, dict[str, float]]  # phase -> method -> median seconds
    ceiling_gflops: float
    peak_bytes: int  # one im2col forward on a fresh layer
    input_bytes: int
    cols_bytes: int

    def gflops(self, method: str, phase: str) -> float | None:
        t = self.seconds[phase].get(method)
        return None if t is None else self.spec.flops(phase) / t / 1e9

    def ratio(self, phase: str, slow: str = "im2col", fast: str = "torch") -> float | None:
        """Time of ``slow`` over time of ``fast``: 1.3 means ``slow`` takes 1.3× as long."""
        times = self.seconds[phase]
        if slow not in times or fast not in times:
            return None
        return times[slow] / times[fast]


@dataclass
class BenchReport:
    preset: str
    dtype: str
    repeat: int
    layers: list[LayerResult]
    loop: LayerResult | None
    machine: dict[str, str] = field(default_factory=dict)
    other_load: float | None = None  # share of all CPUs other processes used during the run

    def geomean_ratio(self, phase: str) -> float:
        """Geometric mean over the main layers of im2col time / torch time."""
        ratios = [r.ratio(phase) for r in self.layers]
        return math.exp(sum(math.log(r) for r in ratios) / len(ratios))


#: Entry points that name the kernel OpenBLAS picked for this CPU, in numpy's bundled build
#: (scipy-openblas, 64-bit integers) and in plain builds.
_CORENAME_SYMBOLS = (
    "scipy_openblas_get_corename64_",
    "scipy_openblas_get_corename",
    "openblas_get_corename64_",
    "openblas_get_corename",
)


def openblas_kernel(maps_path: str = "/proc/self/maps") -> str | None:
    """The CPU kernel numpy's OpenBLAS runs (e.g. ``"SkylakeX"``, ``"Zen"``), or None.

    OpenBLAS picks it from the CPU at load time unless ``OPENBLAS_CORETYPE`` names one. Found
    by asking the OpenBLAS library this process has loaded (Linux only, via ctypes); None
    where there is no such library or it does not say.
    """
    import ctypes

    try:  # numpy links its BLAS into its core module: importing numpy has mapped it
        with open(maps_path) as f:
            paths = {ln.split()[-1] for ln in f if "openblas" in ln.lower() and "/" in ln}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _CORENAME_SYMBOLS:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                core = (fn() or b"").decode(errors="replace").strip()
                return core or None
    return None


def machine_info() -> dict[str, str]:
    """CPU, core count and numpy's BLAS (with OpenBLAS's kernel, and ``OPENBLAS_CORETYPE``
    when it is set), from what Python can see without extra packages."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    blas = "unknown BLAS"
    with contextlib.suppress(Exception):
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{info['name']} {info.get('version', '')}".strip()
    kernel = openblas_kernel()
    if kernel:
        forced = os.environ.get("OPENBLAS_CORETYPE")
        blas += f", {kernel} kernel" + (" (OPENBLAS_CORETYPE)" if forced else "")
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
    }


def _cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds used by every process so far, by this one), or None without /proc/stat.

    Busy = user + nice + system + irq + softirq + steal (a VM's stolen time is load too).
    """
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    busy = sum(ticks) - ticks[3] - ticks[4]  # minus idle and iowait
    own = os.times()
    return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system


def _median_times(
    calls: dict[str, Callable[[], object]], repeat: int, settle: float = SETTLE_SECONDS
) -> dict[str, float]:
    """Median seconds of each call over ``repeat`` runs, one contender at a time: first a pause
    of ``settle`` seconds, then one warm-up run, then the timed runs.

    Why the pause: after a product, numpy's OpenBLAS threads keep spinning for about 0.1 s (and
    torch's OpenMP threads briefly), holding a core; timed right after the other library, torch
    came out up to 3× slower on small layers. Alternating the libraries run by run is worse.
    """
    medians = {}
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for name, fn in calls.items():
            time.sleep(settle)
            fn()
            samples = []
            for _ in range(repeat):
                start = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - start)
            medians[name] = statistics.median(samples)
    finally:
        if gc_was_enabled:
            gc.enable()
    return medians


def _numpy_calls(spec: LayerSpec, method: str, x, w, b, dout) -> dict[str, Callable]:
    layer = Conv2D(
        spec.filters, spec.kernel, spec.stride, spec.padding, weight=w, bias=b, method=method
    )

    def forward_backward():
        layer.forward(x)
        layer.backward(dout)

    def forward():
        layer.forward(x)

    return {f"{method}.forward": forward, f"{method}.forward_backward": forward_backward}


def _torch_calls(spec: LayerSpec, x, w, b, dout) -> dict[str, Callable]:
    import torch
    import torch.nn.functional as F

    (pt, pb), (pl, pr) = spec.pads
    xt, wt, bt = (torch.from_numpy(a).requires_grad_(True) for a in (x, w, b))
    grad = torch.from_numpy(dout)

    def conv(inp):
        if pt == pb and pl == pr:
            return F.conv2d(inp, wt, bt, spec.stride, (pt, pl))
        return F.conv2d(F.pad(inp, (pl, pr, pt, pb)), wt, bt, spec.stride)

    def forward():
        with torch.no_grad():
            conv(xt)

    def forward_backward():
        conv(xt).backward(grad)
        xt.grad = wt.grad = bt.grad = None

    return {"torch.forward": forward, "torch.forward_backward": forward_backward}


@contextlib.contextmanager
def torch_on_all_cores():
    """torch.set_num_threads(os.cpu_count()) for the duration, then the previous setting."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        yield torch
    finally:
        torch.set_num_threads(previous)


def matmul_gflops(f: int, k: int, p: int, dtype="float32", repeat: int = 5) -> float:
    """numpy's own (F, K) @ (K, P) speed in GFLOP/s, the ceiling of an im2col convolution."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((f, k)).astype(dtype)
    bmat = rng.standard_normal((k, p)).astype(dtype)
    out = np.empty((f, p), dtype)
    t = _median_times({"matmul": lambda: np.matmul(a, bmat, out=out)}, repeat, 0.0)["matmul"]
    return 2 * f * k * p / t / 1e9


def forward_peak_bytes(spec: LayerSpec, x, w, b) -> int:
    """Peak memory allocated by one im2col forward on a fresh layer, measured by tracemalloc."""
    layer = Conv2D(spec.filters, spec.kernel, spec.stride, spec.padding, weight=w, bias=b)
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        layer.forward(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already:
            tracemalloc.stop()
    return peak - before


def bench_layer(
    spec: LayerSpec,
    repeat: int = 5,
    dtype="float32",
    methods=("im2col", "torch"),
    settle: float = SETTLE_SECONDS,
) -> LayerResult:
    """Time one layer with the given methods (see the module docstring for what is measured)."""
    rng = np.random.default_rng(0)
    dtype = np.dtype(dtype)
    x = rng.standard_normal(spec.input_shape).astype(dtype)
    w = rng.standard_normal((spec.filters, spec.channels, spec.kernel, spec.kernel))
    w = (w / math.sqrt(spec.channels * spec.kernel**2)).astype(dtype)
    b = rng.standard_normal(spec.filters).astype(dtype)
    dout = rng.standard_normal((spec.batch, spec.filters, *spec.out_hw)).astype(dtype)
    calls: dict[str, Callable] = {}
    for method in methods:
        if method == "torch":
            calls.update(_torch_calls(spec, x, w, b, dout))
        else:
            calls.update(_numpy_calls(spec, method, x, w, b, dout))
    with torch_on_all_cores() if "torch" in methods else contextlib.nullcontext():
        medians = _median_times(calls, repeat, settle)
    del calls  # free the timed layers' work arrays before measuring a fresh one
    seconds = {phase: {} for phase in PHASES}
    for name, t in medians.items():
        method, phase = name.split(".")
        seconds[phase][method] = t
    f, k, p = spec.gemm
    return LayerResult(
        spec=spec,
        dtype=dtype.name,
        seconds=seconds,
        ceiling_gflops=matmul_gflops(f, k, p, dtype, repeat),
        peak_bytes=forward_peak_bytes(spec, x, w, b),
        input_bytes=x.nbytes,
        cols_bytes=k * p * dtype.itemsize,
    )


def count_steps(preset: str) -> int:
    """How many times :func:`run_benchmark` calls ``on_step`` (for a progress bar's total)."""
    return len(PRESETS[preset].layers) + 1


def run_benchmark(
    preset: str = "medium",
    repeat: int = 5,
    dtype="float32",
    on_step: Callable[[str], None] | None = None,
    settle: float | None = None,
) -> BenchReport:
    """Time every layer of ``preset`` (im2col vs torch), then its loop layer (loop, im2col,
    torch). ``on_step(label)`` is called before each layer starts; ``settle`` is the pause
    before each contender (default ``SETTLE_SECONDS``; 0 for a quick smoke test)."""
    settle = SETTLE_SECONDS if settle is None else settle
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: use one of {', '.join(PRESETS)}")
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    chosen = PRESETS[preset]
    cpu_start, wall_start = _cpu_seconds(), time.perf_counter()
    results = []
    for spec in chosen.layers:
        if on_step:
            on_step(spec.label)
        results.append(bench_layer(spec, repeat, dtype, settle=settle))
    if on_step:
        on_step(f"loop method on {chosen.loop.label}")
    loop = bench_layer(chosen.loop, repeat, dtype, methods=METHODS, settle=settle)
    import torch  # already imported by the timing above: only read its version

    machine = machine_info()
    machine["torch"] = f"{torch.__version__}, {os.cpu_count()} threads"
    other = None
    cpu_end = _cpu_seconds()
    if cpu_start and cpu_end:
        available = (time.perf_counter() - wall_start) * (os.cpu_count() or 1)
        used_elsewhere = (cpu_end[0] - cpu_start[0]) - (cpu_end[1] - cpu_start[1])
        other = min(max(used_elsewhere / available, 0.0), 1.0)
    return BenchReport(preset, np.dtype(dtype).name, repeat, results, loop, machine, other)


def load_note(report: BenchReport) -> str:
    """How busy other processes kept the machine while we timed (the numbers' reliability)."""
    if report.other_load is None:
        return "load of other processes: unknown (no /proc/stat)"
    note = f"other processes used {report.other_load:.0%} of the CPUs during the run"
    return note + (" — timings are unreliable, run again later" if report.other_load > 0.1 else "")
