"""Grade a folder's files several at a time, in worker processes, with the results of one at a time.

``Workers(n)`` starts ``n`` workers as soon as the folder is known (forks of this process,
before torch is imported; fresh interpreters where a fork would not be safe: see
``processes.py``), so they are ready during the parent's import of torch, during which each
also loads its first files in their sandboxes (``Workers.prestart``). Each one receives the
battery once (the cases and torch's values for them, computed in the parent: a worker never
imports torch), then one file at a time, which it grades exactly as ``grade.grade_file`` does
in one process (each student's code still runs in its own sandboxed child, started by the
worker). A worker sends a line per case (the progress bar advances per case) and the file's
``FileResult``; the parent keeps the results in file order, so the table, JSON and grade book
do not depend on which worker finished first.

A file whose worker stops (killed, out of memory) gets an error result and a fresh worker
takes the next file: one file never costs the class its grades. BLAS and OpenMP in a worker
use one thread (``processes.THREADS``): ``n`` workers on ``n`` cores, not ``n`` times the cores.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import threading
from collections import deque

from ..i18n import Msg
from .processes import exec_worker, fork_is_safe, fork_worker

#: Files whose sandbox a worker starts while the parent builds the battery (at most
#: ``PRESTART_ALL`` in all: each holds a loaded child).
PRESTART, PRESTART_ALL = 6, 32


def default_jobs() -> int:
    """The cores this process may run on (its CPU affinity where the OS says, else the count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def grade_files(files, cases, references, options, workers=None, on_case=None, on_done=None):
    """``grade_file`` on each of ``files``, in order: in ``workers`` (a started ``Workers``)
    or, without, here one at a time. ``on_case(i)`` after each case of ``files[i]``,
    ``on_done(i)`` when it is graded; returns the FileResults in the order of ``files``."""
    if workers is None:
        results = []
        for index, path in enumerate(files):

            def progress(_result, index=index):
                if on_case:
                    on_case(index)

            results.append(grade_one(path, cases, references, options, progress))
            if on_done:
                on_done(index)
        return results
    return workers.grade(files, cases, references, options, on_case, on_done)


def grade_one(path, cases, references, options, on_case=None, started=None):
    """``grade_file``, with an exception turned into the file's error (never the folder's)."""
    from .grade import FileResult, grade_file

    try:
        return grade_file(path, cases, references, options, on_case=on_case, started=started)
    except Exception as error:  # noqa: BLE001 - one file never costs the class its grades
        return FileResult(str(path), error=Msg("could not be graded ({kind})",
                                               kind=type(error).__name__))  # fmt: skip


class _Worker:
    """One worker, talking through a socket pair with ``multiprocessing``'s pickled messages:
    a fork of this process while that is safe (``fork_is_safe``: torch not imported, no other
    thread), which costs nothing to start and shares what the CLI already imported; otherwise
    a fresh interpreter (``python -P -c``: it imports the grader, not this process's
    ``__main__``, nor torch). ``start`` begins sending (a thread: after every fork)."""

    def __init__(self, language: str, fork: bool = False, others: tuple[int, ...] = ()):
        import socket
        from multiprocessing.connection import Connection

        ours, theirs = socket.socketpair()
        try:
            if fork:
                self.process = fork_worker(theirs.fileno(), language, (ours.fileno(), *others))
            else:
                self.process = exec_worker(theirs.fileno(), language)
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.file: int | None = None  # the index of the file it grades
        self.ready: deque = deque()  # (index, path): files whose sandbox it started already
        # messages go out through a thread of their own: a worker still loading sandboxes
        # does not read, and a battery bigger than the socket's buffer would stall the parent
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_all, daemon=True)

    def start(self) -> _Worker:
        self._sender.start()
        return self

    def send(self, message) -> None:
        """Queue ``message`` for the worker, in order; never blocks."""
        self._outbox.put(message)

    def _send_all(self) -> None:
        while (message := self._outbox.get()) is not None:
            try:
                self.conn.send(message)
            except OSError:  # the worker is gone: the parent sees it on reading
                return
        with contextlib.suppress(OSError):
            self.conn.send(None)

    def stop(self, wait: float = 5.0, now: bool = False) -> None:
        """Ask the worker to end after what is queued (``now``: SIGTERM at once, Ctrl-C); one
        that does not within ``wait`` seconds gets SIGTERM (it closes its sandboxes and
        exits), then SIGKILL."""
        from subprocess import TimeoutExpired

        self._outbox.put(None)
        if now:
            self.process.terminate()
        try:
            self.process.wait(wait)
        except TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(wait)
            except TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._sender.join()
        self.conn.close()


class Workers:
    """``jobs`` worker processes (started now), used by ``grade_files``; a context manager
    that stops them (and the sandboxes they run) on the way out, Ctrl-C included."""

    def __init__(self, jobs: int):
        from ..i18n import current_language

        self._language = current_language()
        fork = fork_is_safe()
        self.workers: list[_Worker] = []
        for _ in range(max(1, jobs)):  # every fork before any sender thread starts
            others = tuple(w.conn.fileno() for w in self.workers)  # not the new worker's
            self.workers.append(_Worker(self._language, fork, others))
        for worker in self.workers:
            worker.start()

    def __enter__(self):
        return self

    def __exit__(self, kind, *exc):
        self.close(now=kind is not None)

    def close(self, now: bool = False) -> None:
        for worker in self.workers:
            worker.stop(now=now)
        self.workers = []

    def prestart(self, files, options) -> None:
        """Before the battery exists (while the parent imports torch): each worker starts the
        sandboxes of its first few ``.py`` files of ``files`` (``PRESTART``), their code loaded
        in their children, so a core otherwise idle does that part of the grading. ``grade``
        must then be given the same ``files``."""
        from .cases import battery_specs

        count = len(battery_specs(options.api))
        early = [(i, p) for i, p in enumerate(files) if not str(p).endswith(".ipynb")]
        for number, (index, path) in enumerate(
            early[: min(PRESTART_ALL, PRESTART * len(self.workers))]
        ):
            worker = self.workers[number % len(self.workers)]
            worker.send(("prestart", index, str(path), options, count))
            worker.ready.append((index, path))

    def grade(self, files, cases, references, options, on_case=None, on_done=None):
        """The files, each to the next free worker (those it started first); torch's values
        not computed yet (``references.known``) are computed here while the workers grade,
        and sent on."""
        from multiprocessing.connection import wait

        known = getattr(references, "known", references.__getitem__)
        values = [known(i) for i in range(len(cases))]
        pending = [i for i, value in enumerate(values) if value is None]
        results: list = [None] * len(files)
        early = {index for worker in self.workers for index, _path in worker.ready}
        waiting = deque((i, path) for i, path in enumerate(files) if i not in early)
        busy: dict = {}

        def assign(worker: _Worker) -> None:
            if worker.ready or waiting:
                worker.file, path = (worker.ready or waiting).popleft()
                worker.send(("file", worker.file, str(path)))
                busy[worker.conn] = worker

        def begin(worker: _Worker) -> None:
            worker.send(("battery", list(cases), list(values), options))
            assign(worker)

        def record(worker: _Worker, result) -> None:
            results[worker.file] = result
            del busy[worker.conn]
            if on_done:
                on_done(worker.file)

        for worker in self.workers:
            begin(worker)
        while busy:
            for conn in wait(list(busy), timeout=0 if pending else None):
                worker = busy[conn]
                try:
                    message = conn.recv()
                except (EOFError, OSError):  # the worker stopped: its file, then a fresh one
                    record(worker, _lost(files[worker.file], worker))
                    waiting.extendleft(reversed(worker.ready))  # its sandboxes died with it
                    fresh = _Worker(self._language).start()
                    self.workers[self.workers.index(worker)] = fresh
                    begin(fresh)
                    continue
                if message[0] == "case":
                    if on_case:
                        on_case(worker.file)
                else:
                    record(worker, message[1])
                    assign(worker)
            if pending and busy:  # one of torch's values, then the workers' messages again
                index = pending.pop(0)
                values[index] = references[index]
                for worker in self.workers:
                    worker.send(("value", index, values[index]))
        return results


def _lost(path, worker: _Worker):
    from .grade import FileResult

    worker.stop(2.0)
    code = worker.process.returncode
    return FileResult(str(path), error=Msg("could not be graded (its grading process stopped, "
                                           "exit code {code})", code=code))  # fmt: skip


def _exit(*_args) -> None:
    sys.exit(1)  # through the sandbox's ``with``: its child is killed, its folder removed


def serve(fd: str, language: str) -> None:
    """A worker's loop, on the socket ``fd``: ``("prestart", …)`` messages, the battery, then
    ``("file", index, path)`` until ``None`` or EOF."""
    from multiprocessing.connection import Connection

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, _exit)
    with contextlib.suppress(OSError, AttributeError):  # Linux: die with the parent
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    from ..i18n import set_language

    set_language(language)
    conn = Connection(int(fd))
    started: dict = {}  # index -> (sandbox, its answer to loading the file)
    try:
        _serve(conn, started)
    finally:
        for box, _loaded in started.values():
            box.close()


def _serve(conn, started: dict) -> None:
    from .grade import start_sandbox

    cases = references = options = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message[0] == "prestart":
            _, index, path, early_options, count = message
            with contextlib.suppress(Exception):  # else started when graded: the same error
                started[index] = start_sandbox(path, early_options, count)
        elif message[0] == "battery":
            _, cases, values, options = message
            references = _Values(conn, values)
        elif message[0] == "value":
            references.add(message)
        else:
            _, index, path = message
            progress = lambda _r: conn.send(("case",))  # noqa: E731
            result = grade_one(path, cases, references, options, progress, started.pop(index, None))
            try:
                conn.send(("done", result))
            except OSError:  # the parent is gone
                return
            except Exception as error:  # noqa: BLE001 - a result that cannot be sent: its error
                conn.send(("done", _unsendable(path, error)))


class _Values:
    """torch's values in a worker: one the parent has not sent yet is waited for."""

    def __init__(self, conn, values: list):
        self.conn, self.values = conn, values

    def add(self, message) -> None:
        _, index, value = message
        self.values[index] = value

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: int):
        while self.values[index] is None:
            message = self.conn.recv()  # only values come while a file is graded
            self.add(message)
        return self.values[index]


def _unsendable(path, error):
    from .grade import FileResult

    return FileResult(str(path), error=Msg("could not be graded ({kind})",
                                           kind=type(error).__name__))  # fmt: skip
