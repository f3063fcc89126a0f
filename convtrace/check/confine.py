"""What the child does to itself before the student's file is loaded.

Loaded by the worker from its own folder (standard library only, no convtrace), and by the
parent to learn the Landlock ABI.

``apply_limits``: hard resource limits (soft = hard). ``ForbiddenImports``: ``import torch``
refused with a clear error. ``restrict(read_paths)``, Landlock (Linux ≥ 5.13), makes the
calling process, and everything it starts, unable to:

- write (but to ``/dev/null``), truncate, create, remove, rename or link any file;
- read or execute anything outside ``read_paths`` (the system, Python, the submission;
  ``/proc/self``, not the grader's ``/proc`` entries);
- bind or connect TCP sockets (ABI 4);
- signal, or reach through abstract unix sockets, a process outside its domain — the grader
  (ABI 6).

It is a no-op (returning 0) where Landlock is absent; otherwise it returns the ABI in force.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

_SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_READ = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read file, read dir
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_FILE_ONLY = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14) | (1 << 15)


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def abi() -> int:
    """The kernel's Landlock ABI version, 0 when there is none."""
    numbers = _SYSCALLS.get(platform.machine())
    if numbers is None:
        return 0
    try:
        libc = _libc()
        version = libc.syscall(numbers[0], None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


def _handled_fs(version: int) -> int:
    return _FS_BY_ABI[max(k for k in _FS_BY_ABI if k <= version)]


def restrict(read_paths) -> int:
    """Apply the ruleset to this process; the ABI in force (0: not available)."""
    version = abi()
    if version < 1:
        return 0
    create, add_rule, restrict_self = _SYSCALLS[platform.machine()]
    libc = _libc()
    handled = _handled_fs(version)
    if version >= 6:
        attr = struct.pack("=QQQ", handled, 3, 3)  # TCP bind+connect; signals, abstract unix
    elif version >= 4:
        attr = struct.pack("=QQ", handled, 3)
    else:
        attr = struct.pack("=Q", handled)
    ruleset = libc.syscall(create, ctypes.c_char_p(attr), ctypes.c_size_t(len(attr)), 0)
    if ruleset < 0:
        return 0
    try:
        for path in read_paths:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                access = _READ if os.path.isdir(path) else _READ & _FILE_ONLY
                if path == "/dev/null":
                    access |= 1 << 1  # write: subprocess.DEVNULL opens it read-write
                rule = struct.pack("=Qi", access & handled, fd)
                libc.syscall(add_rule, ruleset, 1, ctypes.c_char_p(rule), 0)
            finally:
                os.close(fd)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            return 0
        if libc.syscall(restrict_self, ruleset, 0) != 0:
            return 0
    finally:
        os.close(ruleset)
    return version


def apply_limits(memory_bytes: int, cpu_seconds: int, open_files: int = 64, processes=None) -> None:
    """Hard limits (soft = hard): an unprivileged process can lower them, never raise them."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limits = [
        (resource.RLIMIT_AS, memory_bytes),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_NOFILE, open_files),
    ]
    if processes:  # only where the kernel counts them per sandbox (a user namespace)
        limits.append((resource.RLIMIT_NPROC, processes))
    for which, value in limits:
        _, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


class ForbiddenImports:
    """A meta-path finder that refuses the reference (``import torch``): a first line of
    defence, with a clear message; in namespaces the package is not even mounted."""

    def __init__(self, names):
        self.names = tuple(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None
