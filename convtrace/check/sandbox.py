"""Run a student's file in a separate process, with limits, one case at a time.

The child is ``worker.py`` in a fresh interpreter (``python -I -B``: no user site, no
PYTHONPATH, no .pyc files) in its own session (so a timeout kills its whole process group),
with stdin closed, its cwd an empty temporary directory (removed afterwards) and its output on
a pipe this process drains, keeping the first few KiB. Requests go down one pipe, results
come back on another as frames (see ``worker``), decoded with ``allow_pickle=False``.

One child serves every case while nothing goes wrong; after a timeout or a crash it is killed
and a fresh one is started for the next case.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..i18n import Msg
from . import worker

WORKER = Path(worker.__file__).resolve()
OUTPUT_CAP = 8192
MAX_FRAME = 512 * 1024 * 1024


class Sandbox:
    """A child process running one student's file. ``start()`` loads the file; ``run()``
    sends one case and waits at most ``timeout`` seconds for its result."""

    def __init__(self, setup: dict, timeout: float, memory: int, cases: int):
        self.setup = {
            **setup,
            "memory": int(memory),
            "cpu_seconds": int(timeout * (cases + 1)) + 5,
        }
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.output = bytearray()
        self.output_total = 0
        self._dir: str | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> dict:
        """Spawn the child and load the file: ``{"status": "loaded"}`` or why not."""
        self.close()
        self._dir = tempfile.mkdtemp(prefix="convtrace-check-")
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "LANG": "C.UTF-8",
        }
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-B", str(WORKER), str(cmd_r), str(res_w)],
                pass_fds=(cmd_r, res_w),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self._dir,
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(cmd_r)
            os.close(res_w)
        self._cmd, self._res = cmd_w, res_r
        os.set_blocking(self.proc.stdout.fileno(), False)
        os.set_blocking(self._res, False)
        return self._exchange(self.setup, {}, self.timeout + 5)[0]  # + the import of numpy

    def close(self) -> None:
        """Kill the child's process group (if alive) and remove its directory."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self.proc.stdout.close()
            for fd in (self._cmd, self._res):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.proc = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- one case
    def run(self, header: dict, arrays: dict) -> tuple[dict, dict]:
        """One case: ``({"status": "ok", ...}, arrays)``; a status of ``timeout``, ``crash``,
        ``error`` or ``setup`` with a ``message`` otherwise (the child is gone after the first
        two)."""
        return self._exchange(header, arrays, self.timeout)

    def _exchange(self, header: dict, arrays: dict, timeout: float) -> tuple[dict, dict]:
        try:
            data = memoryview(worker.encode_frame(header, arrays))
            deadline = time.monotonic() + timeout
            while data:
                _, ready, _ = select.select([], [self._cmd], [], self._left(deadline))
                if not ready:
                    return self._fail("timeout", timeout)
                data = data[os.write(self._cmd, data[: 1 << 16]) :]
            return self._receive(deadline, timeout)
        except BrokenPipeError:
            return self._fail("crash", timeout)

    @staticmethod
    def _left(deadline: float) -> float:
        return max(0.0, deadline - time.monotonic())

    def _drain_output(self) -> bool:
        """Read what the child printed; keep the first OUTPUT_CAP bytes. False at EOF."""
        try:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        self.output_total += len(chunk)
        room = OUTPUT_CAP - len(self.output)
        if room > 0:
            self.output += chunk[:room]
        return True

    def _receive(self, deadline: float, timeout: float) -> tuple[dict, dict]:
        buffer, size = bytearray(), None
        out_fd = self.proc.stdout.fileno()
        watched = [self._res, out_fd]
        while True:
            left = self._left(deadline)
            if left <= 0:
                return self._fail("timeout", timeout)
            ready, _, _ = select.select(watched, [], [], left)
            if out_fd in ready and not self._drain_output():
                watched.remove(out_fd)
            if self._res in ready:
                try:
                    chunk = os.read(self._res, 1 << 20)
                except BlockingIOError:
                    continue
                if not chunk:
                    return self._fail("crash", timeout)
                buffer += chunk
                if size is None and len(buffer) >= 8:
                    size = int.from_bytes(buffer[:8], "big")
                    if size > MAX_FRAME:
                        return self._fail("crash", timeout, Msg("sent a result too big to read"))
                if size is not None and len(buffer) >= 8 + size:
                    try:
                        return worker.decode_frame(bytes(buffer[8 : 8 + size]))
                    except Exception:  # noqa: BLE001 - a corrupted channel is a crash
                        return self._fail("crash", timeout, Msg("sent an unreadable result"))

    def _fail(self, status: str, timeout: float, why: str | None = None) -> tuple[dict, dict]:
        """Kill the child and say why it stopped."""
        proc = self.proc
        if status == "timeout":
            message = Msg("timed out after {timeout:g} s", timeout=timeout)
            self.close()
        else:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            code = proc.poll()
            self.close()
            if why:
                message = why
            elif code is not None and code < 0:
                name = signal.Signals(-code).name
                message = Msg("the process was killed by {signal}", signal=name)
                if -code == signal.SIGXCPU:
                    message = Msg(
                        "the process was killed by {signal} (CPU time limit)", signal=name
                    )
            else:
                message = Msg(
                    "the process exited with code {code} (os._exit or a crash)", code=code
                )
        return {"status": status, "message": message}, {}
