"""How a ``--jobs`` worker process is started (``parallel.py`` runs it): a fork of the grader
while that is safe, else a fresh interpreter; either way it serves on one socket and its
numerical libraries use one thread each."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading

#: Set in a worker's environment: one thread for each numerical library a worker may load.
THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}  # fmt: skip


def fork_is_safe() -> bool:
    """A fork copies only the calling thread, and every lock as it was: safe while this
    process has no other thread and has not imported torch (whose thread pools and locks a
    child would inherit half-held). ``CONVTRACE_WORKERS=exec`` asks for fresh interpreters."""
    return (
        hasattr(os, "fork")
        and os.environ.get("CONVTRACE_WORKERS") != "exec"
        and "torch" not in sys.modules
        and threading.active_count() == 1
    )


def exec_worker(fd: int, language: str):
    """A fresh interpreter serving on ``fd``, importing from this process's sys.path (-P:
    nothing where the teacher stands before that); its output is not this command's."""
    import subprocess

    env = {**os.environ, **{k: v for k, v in THREADS.items() if k not in os.environ}}
    code = (
        "import sys, json; sys.path[:] = json.loads(sys.argv[3]); "
        "from convtrace.check.parallel import serve; serve(*sys.argv[1:3])"
    )
    argv = [sys.executable, "-P", "-c", code, str(fd), language, json.dumps(sys.path)]
    return subprocess.Popen(argv, pass_fds=(fd,), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL)  # fmt: skip


def fork_worker(fd: int, language: str, close: tuple[int, ...]):
    """A fork of this process serving on ``fd``; it closes the parent's ends of the sockets
    (``close``: a worker must not keep another's channel open) and never returns."""
    pid = os.fork()
    if pid:
        return Forked(pid)
    code = 1
    try:
        for other in close:
            with contextlib.suppress(OSError):
                os.close(other)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)  # its output is not this command's (--json stays one document)
        os.environ.update({k: v for k, v in THREADS.items() if k not in os.environ})
        from .parallel import serve

        serve(str(fd), language)
        code = 0
    except SystemExit as stop:  # SIGTERM: the sandboxes are closed on the way out
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os._exit(code)  # never the parent's atexit, buffers or test runner


class Forked:
    """The parent's handle on a forked worker: what it uses of ``subprocess.Popen``."""

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self):
        if self.returncode is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None):
        import time
        from subprocess import TimeoutExpired

        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise TimeoutExpired("worker", timeout)
            time.sleep(0.005)
        return self.returncode

    def terminate(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
