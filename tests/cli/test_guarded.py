"""The CLI boundary: warnings never leak, running out of memory is a sentence (issue 10, 15/17)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from convtrace.tracing import pipeline


@pytest.fixture
def warning_pipeline(monkeypatch):
    """The real pipeline, after a numpy-style warning (as an overflow in matmul gave)."""
    real = pipeline.run_pipeline

    def warned(*args, **kwargs):
        warnings.warn("overflow encountered in matmul", RuntimeWarning, stacklevel=1)
        np.float32(3e38) * np.float32(10)  # a real numpy warning too
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "run_pipeline", warned)


SCRIPT = """
import sys, warnings
from convtrace.tracing import pipeline
from convtrace.cli.main import main
real = pipeline.run_pipeline
def warned(*args, **kwargs):
    warnings.warn("overflow encountered in matmul", RuntimeWarning)
    return real(*args, **kwargs)
pipeline.run_pipeline = warned
main(sys.argv[1:])
"""


def test_warnings_do_not_reach_the_terminal(tmp_path):
    """In a real process (pytest would capture the warning itself in-process)."""
    import subprocess
    import sys

    script = tmp_path / "warned.py"
    script.write_text(SCRIPT)
    args = [sys.executable, "-W", "default", str(script), "run", "--only", "loss"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "loss" in done.stdout
    assert "Warning" not in done.stderr + done.stdout, done.stderr


def test_debug_lists_the_warnings_on_stderr(invoke, warning_pipeline):
    result = invoke("run", "--only", "loss", "--debug")
    assert result.exit_code == 0
    assert "debug: RuntimeWarning: overflow encountered in matmul" in result.stderr


def test_running_out_of_memory_is_one_sentence_and_exit_2(invoke, monkeypatch):
    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(pipeline, "run_pipeline", exhausted)
    result = invoke("run")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: this machine ran out of memory")
    assert "--max-elements" in lines[0]
