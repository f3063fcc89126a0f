"""The benchmark runner returns sane records; importing it (or the CLI) does not load torch.

No timing is asserted anywhere: the machine is shared, only the shape of the results is.
"""

from __future__ import annotations

import importlib.util
import io
import math
import os
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from convtrace.bench import runner as bench
from convtrace.bench.presets import PRESETS, LayerSpec
from convtrace.bench.runner import run_benchmark


@pytest.fixture(scope="module")
def tiny_report():
    return run_benchmark("tiny", repeat=1, settle=0)


def test_tiny_preset_gives_one_record_per_layer_with_positive_times(tiny_report):
    report = tiny_report
    assert [r.spec for r in report.layers] == list(PRESETS["tiny"].layers)
    assert report.loop.spec == PRESETS["tiny"].loop
    for r in report.layers:
        for phase in bench.PHASES:
            assert set(r.seconds[phase]) == {"im2col", "torch"}
            assert all(t > 0 and math.isfinite(t) for t in r.seconds[phase].values())
            assert r.ratio(phase) > 0 and r.gflops("im2col", phase) > 0
        assert r.ceiling_gflops > 0
    assert set(report.loop.seconds["forward_backward"]) == {"loop", "im2col", "torch"}
    assert report.loop.ratio("forward", "loop", "im2col") > 0
    for phase in bench.PHASES:
        assert report.geomean_ratio(phase) > 0
    assert report.other_load is None or 0 <= report.other_load <= 1


def test_memory_figures_follow_the_layer_geometry(tiny_report):
    for r in tiny_report.layers:
        s = r.spec
        (h_out, w_out), k = s.out_hw, s.channels * s.kernel**2
        assert r.input_bytes == s.batch * s.channels * s.size**2 * 4  # float32
        assert r.cols_bytes == k * s.batch * h_out * w_out * 4
        output_bytes = s.batch * s.filters * h_out * w_out * 4
        assert r.peak_bytes >= r.cols_bytes + output_bytes  # the column matrix and the output


def test_flops_count_one_gemm_forward_and_three_for_forward_backward():
    spec = LayerSpec(2, 3, 8, 4, 3, 2, "same")  # 8×8 -> 4×4 at stride 2, K = 27
    assert spec.out_hw == (4, 4)
    assert spec.gemm == (4, 27, 2 * 16)
    assert spec.flops("forward") == 2 * 4 * 27 * 32
    assert spec.flops("forward_backward") == 3 * spec.flops("forward")


def test_plain_text_and_rich_reports_name_every_layer(tiny_report):
    from convtrace.render.bench import report_text, report_view
    from convtrace.render.console import make_console

    text = report_text(tiny_report)
    buffer = io.StringIO()
    make_console(width=100, file=buffer, no_color=True).print(report_view(tiny_report))
    rich_text = buffer.getvalue()
    for out in (text, rich_text):
        assert "geometric mean" in out
    for spec in (*PRESETS["tiny"].layers, PRESETS["tiny"].loop):
        assert spec.label in text  # the plain text names layers in full
        assert spec.label.replace(" → ", "→").replace(", ", " ") in rich_text  # Rich: compact


def test_bad_preset_and_repeat_are_refused():
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        run_benchmark("huge")
    with pytest.raises(ValueError, match="repeat must be at least 1"):
        run_benchmark("tiny", repeat=0)


@pytest.mark.slow  # seconds: left out of the quick subset (pytest -m "not slow")
def test_bench_command_runs_and_prints_the_tables(monkeypatch):
    from convtrace.cli.bench import bench_command

    monkeypatch.setitem(PRESETS, "small", PRESETS["tiny"])  # keep the test short
    monkeypatch.setattr(bench, "SETTLE_SECONDS", 0.0)
    app = typer.Typer()
    app.command("bench")(bench_command)
    app.command("other")(lambda: None)  # two commands, so "bench" is a subcommand
    result = CliRunner().invoke(app, ["bench", "--repeat", "1"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "geometric mean" in result.output and "What bounds im2col" in result.output
    # a projector is 100 columns: every line fits and no cell is cut short with "…"
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 100 and "…" not in result.output
    help_text = CliRunner().invoke(app, ["bench", "--help"]).output
    assert "--preset" in help_text and "--repeat" in help_text


@pytest.mark.skipif(
    importlib.util.find_spec("convtrace.cli.main") is None,
    reason="convtrace.cli.main not written yet",
)
def test_the_app_lists_bench_with_its_options():
    from convtrace.cli.main import app

    result = CliRunner().invoke(app, ["bench", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "--preset" in result.output and "--repeat" in result.output


def _modules_after(code: str) -> set[str]:
    """Top-level module names loaded by ``code`` in a fresh interpreter."""
    script = (
        f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return set(done.stdout.split())


def test_importing_the_bench_modules_does_not_import_torch():
    loaded = _modules_after(
        "import convtrace.bench.runner, convtrace.cli.bench, convtrace.render.bench"
    )
    assert "convtrace" in loaded
    assert "torch" not in loaded


@pytest.mark.skipif(
    importlib.util.find_spec("convtrace.cli.main") is None,
    reason="convtrace.cli.main not written yet",
)
def test_cli_help_does_not_import_torch():
    code = (
        "import sys\n"
        "sys.argv = ['convtrace', '--help']\n"
        "from convtrace.cli.main import app\n"
        "try:\n"
        "    app()\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    loaded = _modules_after(code)
    assert "typer" in loaded
    assert "torch" not in loaded


def test_openblas_kernel_names_the_loaded_kernel_or_says_nothing(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text("7f00-7f01 r-xp 00000000 00:00 0 /usr/lib/libc.so.6\n")
    assert bench.openblas_kernel(str(maps)) is None  # no OpenBLAS mapped: nothing to ask
    assert bench.openblas_kernel(str(tmp_path / "missing")) is None
    kernel = bench.openblas_kernel()
    blas = bench.machine_info()["blas"]
    if kernel is None:  # a numpy built on another BLAS, or not Linux
        assert "kernel" not in blas
    else:
        assert kernel.isprintable() and " " not in kernel
        assert f"{kernel} kernel" in blas


def test_a_forced_openblas_kernel_is_reported_as_forced():
    code = (
        "from convtrace.bench import runner as bench; import numpy as np; "
        "print(bench.openblas_kernel()); print(bench.machine_info()['blas'])"
    )
    env = {**os.environ, "OPENBLAS_CORETYPE": "Haswell"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    if out[0] == "None":
        pytest.skip("numpy's BLAS here is not an OpenBLAS that names its kernel")
    assert out[0] == "Haswell"
    assert "Haswell kernel (OPENBLAS_CORETYPE)" in out[1]


def test_rich_report_fits_100_columns_with_the_load_warning_and_extreme_figures(tiny_report):
    """Huge ratios, a loop layer 200× slower and the machine-load warning: nothing is cut."""
    import dataclasses
    import io

    from convtrace.render.bench import report_view
    from convtrace.render.console import make_console

    def timed(record, ratio):
        """Fixed times (not the measured ones): torch 1 ms, im2col ``ratio`` ms."""
        seconds = {
            phase: {m: (ratio if m == "im2col" else 1.0) * 1e-3 for m in times}
            for phase, times in record.seconds.items()
        }
        return dataclasses.replace(record, seconds=seconds)

    ratios = (157.1, 1234.5, 3.0, 0.7)
    layers = [timed(r, f) for r, f in zip(tiny_report.layers, ratios, strict=False)]
    report = dataclasses.replace(tiny_report, layers=layers, other_load=0.76)
    if report.loop is not None:
        loop = timed(report.loop, 2.0)
        fb = {**loop.seconds["forward_backward"], "loop": 0.4258}
        report = dataclasses.replace(
            report, loop=dataclasses.replace(loop, seconds={**loop.seconds, "forward_backward": fb})
        )
    buffer = io.StringIO()
    make_console(width=100, file=buffer, no_color=True).print(report_view(report))
    text = buffer.getvalue()
    assert "timings are unreliable" in text
    assert "…" not in text, text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 100
    assert "157×" in text and "1234×" in text or "1235×" in text
