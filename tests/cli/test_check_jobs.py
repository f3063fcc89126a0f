"""Folder grading in worker processes (``--jobs``): the same grade book, JSON and table as one
file at a time, every case reported to the progress bar, and a worker that dies costs only
its own file."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

WILD = Path(__file__).parents[1] / "students_wild"
STUDENTS = Path(__file__).parents[2] / "examples" / "students"
CORRECT = (WILD / "correct_layers.py").read_text()

# a file that times out on a case (a batch of 10) and one whose child dies on others (a 5×5
# kernel): the sandbox starts a fresh child for the next case in both
HANGS = CORRECT.replace(
    "def conv_forward_naive(x, w, b, conv_param):\n",
    "def conv_forward_naive(x, w, b, conv_param):\n"
    "    if x.shape[0] == 10:\n        while True:\n            pass\n",
)
DIES = CORRECT.replace(
    "def conv_forward_naive(x, w, b, conv_param):\n",
    "def conv_forward_naive(x, w, b, conv_param):\n"
    "    if w.shape[-1] == 5:\n        import os\n        os._exit(3)\n",
)


def _class(folder: Path) -> Path:
    folder.mkdir()
    for name in ("correct_layers.py", "python2_print.py", "assert_false.py",
                 "template_untouched.py", "maxpool_overwrite.py"):  # fmt: skip
        (folder / name).write_text((WILD / name).read_text())
    (folder / "cs231n_layers.py").write_text((STUDENTS / "cs231n_layers.py").read_text())
    (folder / "hangs.py").write_text(HANGS)
    (folder / "dies.py").write_text(DIES)
    (folder / "raises.py").write_text("raise ValueError('at import')\n")
    (folder / "folder.py").mkdir()  # refused: not a file
    assert HANGS != CORRECT and DIES != CORRECT
    return folder


def test_jobs_2_gives_the_grade_book_json_and_table_of_jobs_1(invoke, tmp_path):
    folder = _class(tmp_path / "class")
    common = ("check", folder, "--api", "cs231n", "--timeout", "2")
    runs = {}
    for jobs in ("1", "2"):
        book = tmp_path / f"grades{jobs}.csv"
        as_json = invoke(*common, "--jobs", jobs, "--json", "--csv", book)
        runs[jobs] = (as_json.exit_code, book.read_bytes(), json.loads(as_json.stdout))
    assert runs["1"] == runs["2"]
    exit_code, book, doc = runs["2"]
    table = invoke(*common).stdout  # --jobs 0: one worker per core
    files = {Path(f["file"]).name: f for f in doc["files"]}
    assert exit_code == 1 and list(files) == sorted(files) and len(files) == 10
    assert files["correct_layers.py"]["passed"] and files["cs231n_layers.py"]["passed"]
    assert files["folder.py"]["error"] == "a folder, not a file: not graded"
    assert "ValueError" in files["raises.py"]["error"]
    assert files["python2_print.py"]["diagnosis"] == ["python2-code"]
    for name, status in (("hangs.py", "timeout"), ("dies.py", "crash")):
        statuses = [c["status"] for c in files[name]["cases"]]
        assert status in statuses and set(statuses) == {status, "ok"}, name
        assert not files[name]["passed"]
    assert book.decode().count("\n") == 11 and "2 of 10 files pass every case" in table


def _grade(files, jobs, kill_first=False):
    from convtrace.check.cases import References, build_battery
    from convtrace.check.grade import CheckOptions
    from convtrace.check.parallel import Workers, grade_files

    options = CheckOptions(api="cs231n", shrink=False, timeout=2)
    seen, done = [0] * len(files), []
    with Workers(jobs) if jobs > 1 else _none() as workers:
        if workers is not None:  # the first files' sandboxes start before the battery exists
            workers.prestart(files, options)
        cases = build_battery("cs231n")
        references = References(cases)
        references[0]  # the rest computed as needed (by the parent, with workers)

        def on_case(index):
            seen[index] += 1
            if kill_first and index == 0 and seen[0] == 3:  # the worker grading the first file
                for worker in workers.workers:
                    if worker.file == 0:
                        os.kill(worker.process.pid, signal.SIGKILL)

        results = grade_files(files, cases, references, options, workers, on_case, done.append)
    return results, seen, done


def _none():
    import contextlib

    return contextlib.nullcontext()


def test_the_progress_callback_sees_every_case_of_every_file(tmp_path):
    names = ("correct_layers.py", "maxpool_overwrite.py", "assert_false.py", "dies.py")
    folder = _class(tmp_path / "class")
    files = [folder / name for name in names]
    one, seen_one, done_one = _grade(files, 1)
    two, seen_two, done_two = _grade(files, 2)
    assert seen_one == seen_two == [len(r.cases) for r in two]
    assert all(seen_two) and sorted(done_two) == sorted(done_one) == [0, 1, 2, 3]
    for a, b in zip(one, two, strict=True):
        assert [(c.case.name, c.status, c.checks, c.diagnosis) for c in a.cases] == [
            (c.case.name, c.status, c.checks, c.diagnosis) for c in b.cases
        ]
        assert (a.error, a.diagnosis, a.score) == (b.error, b.diagnosis, b.score)


def test_a_worker_that_dies_costs_only_its_own_file(tmp_path):
    """Its other files (their sandboxes started with it, and gone with it) are graded by
    another worker."""
    folder = _class(tmp_path / "class")
    files = [folder / name for name in ("correct_layers.py", "cs231n_layers.py",
                                        "maxpool_overwrite.py", "correct_layers.py")]  # fmt: skip
    results, seen, done = _grade(files, 2, kill_first=True)
    assert "its grading process stopped" in results[0].error and not results[0].passed
    assert "-9" in results[0].error  # killed by SIGKILL
    assert [r.passed for r in results[1:]] == [True, False, True]
    assert results[2].diagnosis == ["maxpool-overwrite"] and sorted(done) == [0, 1, 2, 3]
    assert seen[3] == len(results[3].cases)  # a fresh worker graded what came next


def test_jobs_0_is_one_per_core_this_process_may_use(monkeypatch):
    from convtrace.check import parallel
    from convtrace.cli.check_folder import jobs_for

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity here")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5})
    assert jobs_for(0) == parallel.default_jobs() == 3 and jobs_for(2) == 2


def _python(code: str, **env) -> str:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


WORKERS = (
    "from convtrace.check.parallel import Workers\n"
    "w = Workers(2)\n"
    "print(' '.join(type(x.process).__name__ for x in w.workers))\n"
    "w.close()\n"
)


def test_workers_fork_only_while_it_is_safe():
    """A fresh grader forks its workers; once torch is imported (its threads and locks), or
    when asked, they are fresh interpreters."""
    assert _python(WORKERS) == "Forked Forked"
    assert _python("import torch\n" + WORKERS) == "Popen Popen"
    assert _python(WORKERS, CONVTRACE_WORKERS="exec") == "Popen Popen"


def test_forked_and_fresh_workers_write_the_grade_book_of_one_at_a_time(tmp_path):
    """The whole command in its own process (as a teacher runs it): forked workers, fresh
    interpreters and --jobs 1 give the same grade book, a file whose child dies included."""
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("correct_layers.py", "maxpool_overwrite.py", "python2_print.py"):
        (folder / name).write_text((WILD / name).read_text())
    (folder / "dies.py").write_text(DIES)
    (folder / "raises.py").write_text("raise ValueError('at import')\n")
    books = {}
    for label, jobs, env in (("one", "1", {}), ("fork", "2", {}),
                             ("exec", "2", {"CONVTRACE_WORKERS": "exec"})):  # fmt: skip
        csv = tmp_path / f"{label}.csv"
        _python("import sys\nfrom convtrace.cli.main import main\n"
                f"sys.argv = ['convtrace', 'check', {str(folder)!r}, '--api', 'cs231n', "
                f"'--jobs', {jobs!r}, '--csv', {str(csv)!r}]\n"
                "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, 1), e.code\n",
                **env)  # fmt: skip
        books[label] = csv.read_bytes()
    assert books["one"] == books["fork"] == books["exec"]
    assert books["one"].count(b"\n") == 6  # the header and five files
