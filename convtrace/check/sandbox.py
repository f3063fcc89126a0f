"""Run a student's file in a separate process, with limits, one case at a time.

The child is ``worker.py`` in a fresh interpreter (``python -I -B``: no user site, no
PYTHONPATH, no .pyc files), isolated as ``isolation`` says (namespaces through bubblewrap, or
limits only), in its own session (so a timeout kills its whole process group), with stdin
closed and its output on a pipe this process drains, keeping the first few KiB. The
submission is copied alone into a directory of its own (the child never sees the folder it
came from, nor its classmates); its working directory is an empty one (removed afterwards).
Requests go down one pipe, results come back on another as frames, each checked by
``transport`` before use: nothing the child sends can run code in this process, format a
string, or make it allocate more than ``transport.MAX_FRAME``.

One child serves every case while nothing goes wrong; after a timeout or a crash it is killed
and a fresh one is started for the next case. With limits only, this process becomes a child
subreaper (Linux), so a process the student detached (``setsid``) is reparented here and
killed with its sandbox.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..i18n import Msg
from . import isolation as iso
from . import transport, worker

WORKER = Path(worker.__file__).resolve()
OUTPUT_CAP = 8192
_LOCK = threading.Lock()  # spawning and reaping: no child is reaped before it is known
_LIVE: set[int] = set()
_SUBREAPER = False


def copy_submission(path: str | Path, folder: Path) -> Path:
    """Copy the regular file ``path`` (a symlink is refused: O_NOFOLLOW) alone into
    ``folder``, readable by the unprivileged child; returns the copy."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        folder.mkdir(mode=0o755)
        copy = folder / Path(path).name
        with os.fdopen(os.dup(fd), "rb") as source, open(copy, "xb") as target:
            shutil.copyfileobj(source, target)
    finally:
        os.close(fd)
    os.chmod(folder, 0o755)
    os.chmod(copy, 0o644)
    return copy


def _alive_elsewhere(pid: int) -> bool:
    """``pid`` runs (not a zombie) in a PID namespace other than ours (a sandbox's)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
        theirs = os.readlink(f"/proc/{pid}/ns/pid")
    except (OSError, IndexError):
        return False
    return state != b"Z" and theirs != os.readlink("/proc/self/ns/pid")


def _become_subreaper() -> None:
    global _SUBREAPER
    if _SUBREAPER or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        _SUBREAPER = libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap_orphans() -> None:
    """Kill and reap every child of this process that no sandbox owns: processes a student
    detached, reparented here because this process is a subreaper."""
    if not _SUBREAPER:
        return
    me = str(os.getpid())
    for _round in range(20):
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in _LIVE:
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if fields[1].decode() == me:
                found.append(int(entry))
        if not found:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        time.sleep(0.01)


class Sandbox:
    """A child process running one student's file. ``start()`` loads the file; ``run()``
    sends one case and waits at most ``timeout`` seconds for its result."""

    def __init__(
        self,
        setup: dict,
        timeout: float,
        memory: int,
        cases: int,
        isolation: iso.Isolation | None = None,
        allow_torch: bool = False,
    ):
        self.isolation = isolation or iso.detect()
        self.setup = {
            **setup,
            "memory": int(memory),
            "cpu_seconds": int(timeout * (cases + 1)) + 5,
            "allow_torch": bool(allow_torch),
            "processes": 64 if self.isolation.namespaced else None,
        }
        self.source = setup["path"]
        self.allow_torch = allow_torch
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.output = bytearray()
        self.output_total = 0
        self._dir: str | None = None
        self._info: int | None = None
        self.namespace_gone: bool | None = None  # checked at close (namespaces only)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> dict:
        """Spawn the child and load the file: ``{"status": "loaded"}`` or why not."""
        self.close()
        self._dir = tempfile.mkdtemp(prefix="convtrace-check-")
        os.chmod(self._dir, 0o711)  # the unprivileged child may cross it, not list it
        home = Path(self._dir)
        copy = copy_submission(self.source, home / "submission")
        work = home / "work"
        work.mkdir(mode=0o700)
        namespaced = self.isolation.namespaced
        if namespaced:
            path = f"{iso.SUBMISSION_DIR}/{copy.name}"
            script = f"{iso.GRADER_DIR}/{WORKER.name}"
        else:
            path, script = str(copy), str(WORKER)
            _become_subreaper()
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        self._info, info_w = os.pipe() if namespaced else (None, None)
        argv = [sys.executable, "-I", "-B", script, str(cmd_r), str(res_w)]
        command = iso.command(self.isolation, argv, copy.parent, WORKER, self.allow_torch, info_w)
        try:
            with _LOCK:
                self.proc = subprocess.Popen(
                    command,
                    pass_fds=tuple(fd for fd in (cmd_r, res_w, info_w) if fd is not None),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    cwd=str(work),
                    env=dict(iso.ENV),
                    start_new_session=True,
                )
                _LIVE.add(self.proc.pid)
        finally:
            for fd in (cmd_r, res_w, info_w):
                if fd is not None:
                    os.close(fd)
        self._cmd, self._res = cmd_w, res_r
        os.set_blocking(self.proc.stdout.fileno(), False)
        os.set_blocking(self._res, False)
        read = self.isolation.read_paths(os.path.dirname(path), os.path.dirname(script))
        starter = iso.starter_path(self.isolation)
        setup = {**self.setup, "path": path, "landlock": read, "starter": starter}
        return self._exchange(setup, {}, self.timeout + 5)[0]  # + the import of numpy

    def close(self) -> None:
        """Kill the child's process group (if alive; in namespaces, killing bwrap ends the
        PID namespace and every process in it), reap strays, remove its directory."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self.proc.stdout.close()
            self.namespace_gone = self._check_namespace_gone()
            for fd in (self._cmd, self._res):
                try:
                    os.close(fd)
                except OSError:
                    pass
            with _LOCK:
                _LIVE.discard(self.proc.pid)
                _reap_orphans()
            self.proc = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _check_namespace_gone(self) -> bool | None:
        """In namespaces: the PID namespace's first process (bwrap's info) is gone, so is
        every process in it; one still there after 2 s is killed. None without namespaces."""
        if getattr(self, "_info", None) is None:
            return None
        try:
            info = b""
            while chunk := os.read(self._info, 4096):  # bwrap is dead: EOF comes
                info += chunk
                if len(info) > 65536:
                    break
        finally:
            os.close(self._info)
            self._info = None
        try:
            pid = int(json.loads(info.split(b"\n}")[0] + b"}")["child-pid"])
        except (ValueError, KeyError, TypeError):
            return False
        deadline = time.monotonic() + 2
        while _alive_elsewhere(pid):
            if time.monotonic() > deadline:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
                return False
            time.sleep(0.005)
        return True

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
                    if size > transport.MAX_FRAME:
                        return self._fail("crash", timeout, Msg("sent a result too big to read"))
                if size is not None and len(buffer) >= 8 + size:
                    body = bytes(buffer[8 : 8 + size])
                    del buffer[: 8 + size]
                    try:
                        return transport.decode_reply(body)
                    except transport.TransportError:  # a forged or corrupted reply
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
