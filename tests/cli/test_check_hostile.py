"""`convtrace check FOLDER` on a class where some students attack the grader (issue 19).

One folder holds a correct submission, a classmate's file, and one hostile submission per
attack; the teacher has a secret file and a token in the environment. The folder is graded
once per "teacher" (root as here, and an ordinary user: uid 65534 with a home of its own, in
a private mount namespace where the Python under /root is readable) through the real entry
point in a subprocess (a student that kills its grader must not kill pytest), and each test
asserts one attack was contained. Tests that need namespaces skip where bubblewrap cannot
make them; the limits-only tests run everywhere.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from convtrace.check import confine, isolation

STUDENTS = Path(__file__).resolve().parents[2] / "examples" / "students"
CORRECT = (STUDENTS / "correct.py").read_text()
TOKEN = "TEACHER-TOKEN-5f3a9c"
SECRET = "the teacher's secret 8d1e"
MARKER = "convtrace-hostile-survivor-7b2"
NAMESPACES = isolation.detect().namespaced
needs_namespaces = pytest.mark.skipif(
    not NAMESPACES, reason=f"no namespaces here: {isolation.detect().reason}"
)


def hostile(body: str) -> str:
    """A submission whose module body runs ``body`` and then defines the correct class."""
    return "import os, sys\n" + textwrap.dedent(body) + "\n" + CORRECT


def attacks(home: Path, folder: Path, port: int) -> dict[str, str]:
    secret, grades = home / "secret.txt", home / "grades.csv"
    classmate = folder / "aaa_classmate.py"
    return {
        # soft limits could be raised again: hard ones cannot
        "lift_limits.py": """
            import resource
            resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        """,
        # delete or empty the teacher's and a classmate's files (open "w" truncates)
        "rewrite_files.py": f"""
            for path in ({str(secret)!r}, {str(classmate)!r}):
                try:
                    open(path, "w").close()
                except OSError:
                    pass
                try:
                    os.remove(path)
                except OSError:
                    pass
            raise RuntimeError("tried")
        """,
        # a detached process that outlives grading and forges the grade book
        "forge_later.py": f"""
            import subprocess
            code = ("import time, sys\\ntime.sleep(3)\\n"
                    "open({str(grades)!r}, 'a').write('forge_later.py,100.0,yes\\\\n')\\n"
                    "time.sleep(60)  # {MARKER}")
            subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        """,
        # reach the teacher over the network (a port the test listens on)
        "phone_home.py": f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"hi")
            except OSError as error:
                raise RuntimeError("no network: " + type(error).__name__)
        """,
        # read the grader's environment and memory
        "read_grader.py": """
            found = []
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    for name in ("environ", "cmdline"):
                        try:
                            found.append(open(f"/proc/{pid}/{name}", "rb").read()[:4000])
                        except OSError:
                            pass
            raise RuntimeError(repr(b" ".join(found))[:150])
        """,
        # kill the grader, and everything it can see
        "kill_grader.py": """
            import signal
            for pid in (os.getppid(), 1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        """,
        # forge a reply: a format template, a 1 MB message, an unknown id
        "forge_reply.py": """
            import json, io, numpy as np
            fd = int(sys.argv[2])
            header = {"status": "error", "id": "raised_message", "template": "{m:>1000000000}",
                      "fields": {"kind": "X", "message": "\\x1b[2J" + "A" * 1000000}}
            buffer = io.BytesIO()
            np.savez(buffer, __header__=np.frombuffer(json.dumps(header).encode(), np.uint8))
            data = buffer.getvalue()
            os.write(fd, len(data).to_bytes(8, "big") + data)
            raise SystemExit(0)
        """,
        # a compressed npz member that inflates to 800 MB
        "zip_bomb.py": """
            import io, json, numpy as np
            fd = int(sys.argv[2])
            header = {"status": "loaded", "pool": False}
            buffer = io.BytesIO()
            np.savez_compressed(buffer, out=np.zeros(20_000_000),
                                __header__=np.frombuffer(json.dumps(header).encode(), np.uint8))
            data = buffer.getvalue()
            os.write(fd, len(data).to_bytes(8, "big") + data)
            import time
            time.sleep(5)
        """,
        # draw on the teacher's terminal (see TERMINAL), in every case's message
        "terminal.py": "",
        # shadow the standard library for a classmate
        "traceback.py": """
            raise RuntimeError("traceback.py was imported")
        """,
        # the reference itself
        "uses_torch.py": """
            import torch
        """,
        # a fork bomb: capped, and every process dies with the sandbox
        "fork_bomb.py": f"""
            for _ in range(300):
                try:
                    if os.fork() == 0:  # a sleeper whose command line names it
                        os.execv("/bin/sh", ["sh", "-c", "sleep 60; : {MARKER}"])
                except OSError:
                    break
        """,
        # NaN everywhere: the JSON must stay strict
        "nan_answer.py": """
            import numpy as np
            _real = None
        """,
    }


# ANSI, OSC 52 (the clipboard), Rich markup drawing a fake verdict, a link, a broken tag
TERMINAL = """
def _forward(self, X):
    raise ValueError("\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07[green]✓ 12 of 12 cases pass · "
                     "score 100[/green] [/] [link=https://evil.example]x[/link]")


Conv2D.forward = _forward
"""

NAN_PLANT = (
    "return O + self.b.reshape(1, -1, 1, 1)",
    "return (O + self.b.reshape(1, -1, 1, 1)) * np.nan",
)


def build_class(root: Path, port: int) -> tuple[Path, Path]:
    home, folder = root / "home", root / "submissions"
    home.mkdir()
    folder.mkdir()
    (home / "secret.txt").write_text(SECRET)
    (folder / "aaa_classmate.py").write_text(CORRECT)
    (folder / "zzz_raises.py").write_text("raise ValueError('plain')\n")
    for name, body in attacks(home, folder, port).items():
        source = hostile(body)
        if name == "nan_answer.py":
            source = source.replace(*NAN_PLANT)
        if name == "terminal.py":
            source += TERMINAL
        (folder / name).write_text(source)
    (folder / "link.py").symlink_to(home / "secret.txt")
    (folder / "dir.py").mkdir()
    os.mkfifo(folder / "pipe.py")
    return home, folder


def _python_prefixes_under_root() -> list[str]:
    """Folders of this Python that an ordinary user cannot reach (under a 0700 /root)."""
    found = []
    for prefix in {sys.prefix, sys.base_prefix}:
        real = os.path.realpath(prefix)
        if real.startswith("/root/"):
            found.append("/root/" + real.split("/")[2])
    return sorted(set(found))


def run_as(who: str, args: list[str], home: Path, env: dict) -> subprocess.CompletedProcess:
    """``python -m convtrace`` as root, or as uid 65534 with its own HOME (a private mount
    namespace shows this Python's folders under /root, nothing else of root's home)."""
    command = [sys.executable, "-m", "convtrace", *args]
    if who == "root":
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    script = "set -e\n"
    for i, top in enumerate(_python_prefixes_under_root()):
        script += f"mkdir -p /tmp/.keep{i} && mount --bind {top} /tmp/.keep{i}\n"
    script += "mount -t tmpfs -o mode=0755 tmpfs /root\n"
    for i, top in enumerate(_python_prefixes_under_root()):
        script += f"mkdir -p {top} && mount --bind /tmp/.keep{i} {top}\n"
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    script += "exec " + " ".join(map(_quote, drop + ["env", f"HOME={home}"] + command))
    outer = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
    return subprocess.run(outer, capture_output=True, text=True, env=env, timeout=600)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _survivors() -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and MARKER.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.fixture(scope="module", params=["root", "ordinary user"])
def graded(request):
    who = request.param
    if not NAMESPACES:
        pytest.skip(f"no namespaces here: {isolation.detect().reason}")
    if who != "root" and (os.geteuid() != 0 or not shutil.which("setpriv")):
        pytest.skip("becoming an ordinary user needs root and setpriv")
    root = Path(tempfile.mkdtemp(prefix="convtrace-class-"))
    os.chmod(root, 0o755)
    if who != "root":
        probe = run_as(who, ["check", "--list-bugs"], root, dict(os.environ))
        if probe.returncode != 0:
            shutil.rmtree(root)
            pytest.skip(f"uid 65534 cannot run this Python here: {probe.stderr[-200:]}")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.1)
    home, folder = build_class(root, listener.getsockname()[1])
    if who != "root":
        subprocess.run(["chown", "-R", "65534:65534", str(root)], check=True)
    grades = home / "grades.csv"
    env = {**os.environ, "CONVTRACE_TEST_TOKEN": TOKEN, "COLUMNS": "100", "NO_COLOR": "1"}
    args = ["check", str(folder), "--json", "--csv", str(grades), "--timeout", "5", "--jobs", "2"]
    start = time.monotonic()
    done = run_as(who, args, home, env)
    seconds = time.monotonic() - start
    survivors = _survivors()
    table = run_as(who, ["check", str(folder), "--timeout", "5", "--jobs", "2"], home, env)
    html = home / "report.html"
    exported = run_as(who, ["check", str(folder / "terminal.py"), "--export", str(html)], home, env)
    try:
        listener.accept()
        connected = True
    except (TimeoutError, OSError):
        connected = False
    listener.close()
    time.sleep(3.5)  # the forger's moment
    yield {
        "who": who,
        "done": done,
        "doc": json.loads(done.stdout),
        "table": table,
        "exported": exported,
        "html": html.read_text() if html.exists() else "",
        "csv_after_wait": grades.read_text(),
        "home": home,
        "folder": folder,
        "connected": connected,
        "survivors": survivors,
        "seconds": seconds,
    }
    for pid in _survivors():
        os.kill(pid, 9)
    shutil.rmtree(root, ignore_errors=True)


def files(graded) -> dict[str, dict]:
    return {Path(f["file"]).name: f for f in graded["doc"]["files"]}


def everything(graded) -> str:
    return (
        graded["done"].stdout
        + graded["done"].stderr
        + graded["table"].stdout
        + graded["csv_after_wait"]
        + graded["html"]
    )


def test_the_class_is_graded_and_the_grade_book_is_complete(graded):
    assert graded["done"].returncode == 1, graded["done"].stderr
    doc = graded["doc"]
    assert doc["isolation"].startswith("namespaces (user, pid, net, mount")
    names = [Path(f["file"]).name for f in doc["files"]]
    rows = graded["csv_after_wait"].splitlines()
    assert len(rows) == 1 + len(names) and rows[0].endswith(",isolation")
    assert files(graded)["aaa_classmate.py"]["passed"]  # graded first, not harmed
    assert "isolation: namespaces" in graded["table"].stdout


def test_limits_are_hard(graded):
    error = files(graded)["lift_limits.py"]["error"]
    assert error.startswith("raised ValueError: not allowed to raise maximum limit"), error


def test_the_teachers_and_classmates_files_are_untouched(graded):
    assert (graded["home"] / "secret.txt").read_text() == SECRET
    assert (graded["folder"] / "aaa_classmate.py").read_text() == CORRECT
    assert files(graded)["rewrite_files.py"]["error"].startswith("raised RuntimeError: tried")


def test_no_process_outlives_grading_and_the_grade_book_stays(graded):
    assert graded["survivors"] == []
    book = graded["csv_after_wait"]
    assert book.count("forge_later.py,") == 1  # the forger would append a second row
    assert len(book.splitlines()) == 1 + len(graded["doc"]["files"])
    assert files(graded)["forge_later.py"]["passed"]  # its own grade, honestly earned


def test_no_network(graded):
    assert not graded["connected"]
    assert "no network" in files(graded)["phone_home.py"]["error"]


def test_the_grader_is_invisible(graded):
    error = files(graded)["read_grader.py"]["error"]
    assert TOKEN not in everything(graded) and "convtrace" not in error


def test_a_student_that_kills_cannot_kill_the_grader(graded):
    killer = files(graded)["kill_grader.py"]  # it killed, at most, itself
    assert killer["passed"] or killer["error"].endswith("while loading")
    assert files(graded)["aaa_classmate.py"]["passed"]
    assert files(graded)["zzz_raises.py"]["error"].startswith("raised ValueError: plain")


def test_forged_replies_are_refused_not_formatted(graded):
    assert files(graded)["forge_reply.py"]["error"].startswith("sent an unreadable result")
    assert graded["done"].stdout.count("A") < 100_000
    assert files(graded)["zip_bomb.py"]["error"].startswith("sent an unreadable result")


def test_student_text_cannot_draw_on_the_terminal(graded):
    shown = everything(graded)
    assert "\x1b" not in shown and "\x07" not in shown
    assert "Internal error" not in shown and "<a href" not in graded["html"]
    table = graded["table"].stdout
    assert "\\x1b[2J" in table and "[/]" in table  # visible, as the student wrote it
    assert graded["exported"].returncode == 1, graded["exported"].stderr
    assert "\\x1b[2J" in graded["html"] and "[link=" in graded["html"]


def test_a_submission_cannot_stand_in_for_the_standard_library(graded):
    assert (
        files(graded)["zzz_raises.py"]["error"]
        == "raised ValueError: plain at line 1 while loading"
    )
    assert "traceback.py was imported" in files(graded)["traceback.py"]["error"]


def test_torch_is_forbidden(graded):
    error = files(graded)["uses_torch.py"]["error"]
    assert error.startswith("imports torch, which this assignment forbids"), error


def test_only_regular_files_are_graded(graded):
    found = files(graded)
    assert found["link.py"]["error"] == "a symbolic link, not a file: not graded"
    assert found["dir.py"]["error"] == "a folder, not a file: not graded"
    assert found["pipe.py"]["error"] == "not a regular file: not graded"
    assert SECRET not in everything(graded)


def test_a_fork_bomb_is_capped_and_cleaned_up(graded):
    assert graded["survivors"] == []
    assert files(graded)["fork_bomb.py"]["passed"]


def test_nan_keeps_the_json_strict(graded):
    def refuse(name):
        raise AssertionError(name)

    json.loads(graded["done"].stdout, parse_constant=refuse)
    nan = files(graded)["nan_answer.py"]
    assert not nan["passed"] and nan["cases"][0]["first_wrong"]["got"] is None


# ------------------------------------------------------------------ without namespaces
def run_limits(args, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CONVTRACE_ISOLATION": "limits", "COLUMNS": "100", "NO_COLOR": "1",
           "CONVTRACE_TEST_TOKEN": TOKEN}  # fmt: skip
    command = [sys.executable, "-m", "convtrace", "check", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)


def test_limits_only_says_so_and_keeps_limits_hard(tmp_path):
    path = tmp_path / "lift.py"
    path.write_text(hostile(attacks(tmp_path, tmp_path, 1)["lift_limits.py"]))
    done = run_limits([path], tmp_path)
    assert done.returncode == 2 and "not allowed to raise maximum limit" in done.stderr
    correct = tmp_path / "ok.py"
    correct.write_text(CORRECT)
    done = run_limits([correct, "--json"], tmp_path)
    said = json.loads(done.stdout)["isolation"]
    assert said.startswith("limits") and said.endswith("— run untrusted code in a container")
    done = run_limits([correct, "--require-isolation"], tmp_path)
    assert done.returncode == 2 and "--require-isolation" in done.stderr


def test_a_grade_book_with_nowhere_to_go_is_refused_before_grading(tmp_path):
    (tmp_path / "ok.py").write_text(CORRECT)
    start = time.monotonic()
    done = run_limits([tmp_path, "--csv", tmp_path / "nodir" / "grades.csv"], tmp_path)
    assert done.returncode == 2 and "does not exist" in done.stderr
    assert "Internal error" not in done.stderr and time.monotonic() - start < 20


@needs_namespaces
def test_torch_can_be_allowed(tmp_path):
    source = CORRECT.replace("import numpy as np\n", "import numpy as np\nimport torch\n")
    path = tmp_path / "with_torch.py"
    path.write_text(source)
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "convtrace", "check", str(path), "--allow", "torch"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run(command[:-2], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 2 and "forbids" in done.stderr


def test_limits_only_still_kills_what_a_student_detached(tmp_path):
    path = tmp_path / "detach.py"
    path.write_text(hostile(attacks(tmp_path, tmp_path, 1)["forge_later.py"]))
    done = run_limits([path, "--timeout", "5"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    survivors = _survivors()
    for pid in survivors:
        os.kill(pid, 9)
    assert survivors == []
    assert not (tmp_path / "grades.csv").exists()


@pytest.mark.skipif(confine.abi() < 6, reason="Landlock ABI 6 (signal scoping) is not here")
def test_without_namespaces_landlock_keeps_files_network_and_the_grader_safe(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.1)
    home, folder = tmp_path / "home", tmp_path / "class"
    home.mkdir()
    folder.mkdir()
    (home / "secret.txt").write_text(SECRET)
    (folder / "aaa_classmate.py").write_text(CORRECT)
    chosen = attacks(home, folder, listener.getsockname()[1])
    for name in ("rewrite_files.py", "phone_home.py", "read_grader.py"):
        (folder / name).write_text(hostile(chosen[name]))
    (folder / "read_secret.py").write_text(
        hostile(f"raise RuntimeError(open({str(home / 'secret.txt')!r}).read())")
    )
    (folder / "signal_grader.py").write_text(  # the grader only: never kill(-1) unconfined
        hostile(
            "import signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
            "except OSError:\n    pass"
        )
    )
    grades = home / "grades.csv"
    done = run_limits([folder, "--json", "--csv", grades, "--jobs", "1"], tmp_path)
    found = {Path(f["file"]).name: f for f in json.loads(done.stdout)["files"]}
    assert done.returncode == 1 and len(grades.read_text().splitlines()) == 1 + len(found)
    assert (home / "secret.txt").read_text() == SECRET
    assert (folder / "aaa_classmate.py").read_text() == CORRECT
    assert "PermissionError" in found["read_secret.py"]["error"] and SECRET not in done.stdout
    assert "no network" in found["phone_home.py"]["error"]
    assert TOKEN not in done.stdout and "PermissionError" in found["read_grader.py"]["error"]
    assert found["signal_grader.py"]["passed"] and found["aaa_classmate.py"]["passed"]
    with pytest.raises((TimeoutError, OSError)):
        listener.accept()
    listener.close()


def test_a_symlink_given_as_the_file_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    (tmp_path / "link.py").symlink_to(secret)
    done = run_limits([tmp_path / "link.py"], tmp_path)
    assert done.returncode == 2 and "a symbolic link, not a file: not graded" in done.stderr
    assert SECRET not in done.stdout + done.stderr


def test_a_file_name_with_markup_and_escapes_is_shown_as_text(tmp_path):
    from convtrace.render.check import folder_table

    row = {"file": "[/]\x1b[2J[link=https://e.example]x.py", "passed": False, "score": 0.0,
           "first_failure": None, "diagnosis": [], "error": None, "note": None}  # fmt: skip
    from convtrace.render.console import make_console

    console = make_console(width=100)
    console.record = True
    console.print(folder_table([row]))
    text = console.export_text()
    assert "[/]\\x1b[2J[link=https://e.example]x.py" in text.replace("\n", "")
    assert "<a href" not in console.export_html()


@needs_namespaces
def test_closing_a_sandbox_checks_its_pid_namespace_is_gone(tmp_path):
    from convtrace.check.sandbox import Sandbox

    path = tmp_path / "detach.py"
    path.write_text(hostile(attacks(tmp_path, tmp_path, 1)["fork_bomb.py"]))
    setup = {"path": str(path), "api": "course", "class": "Conv2D", "functions": [],
             "pool_functions": [], "weight_attr": None, "bias_attr": None}  # fmt: skip
    box = Sandbox(setup, 5, 2 << 30, 1)
    assert box.start()["status"] == "loaded"
    assert _survivors()  # the sleepers run while the sandbox does
    box.close()
    assert box.namespace_gone is True and _survivors() == []
