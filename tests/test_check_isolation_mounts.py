"""The sandbox's mounts come in an order that keeps the interpreter visible: a venv or a clone
under the host's /tmp (a CI checkout may live there) is bound on top of the private /tmp, not
hidden by it (the child then exited 127, "command not found", on every submission)."""

from __future__ import annotations

from pathlib import Path

from convtrace.check import isolation
from convtrace.check.isolation import Isolation, command


def _mounts(monkeypatch, python_paths):
    monkeypatch.setattr(isolation, "_python_paths", lambda: python_paths)
    iso = Isolation(mode="namespaces", namespaces=("user", "pid"), bwrap="/usr/bin/bwrap")
    return command(iso, ["python", "-I", "worker.py"], Path("/tmp/sub"), None, False)


def _position(args, option, destination):
    for i, arg in enumerate(args):
        if arg == option and args[i + (1 if option == "--tmpfs" else 2)] == destination:
            return i
    raise AssertionError(f"{option} {destination} not in {args}")


def test_a_python_under_tmp_is_bound_after_the_private_tmp(monkeypatch):
    args = _mounts(monkeypatch, ["/tmp/clone/.venv-ci"])
    assert _position(args, "--tmpfs", "/tmp") < _position(args, "--ro-bind", "/tmp/clone/.venv-ci")


def test_the_private_work_dir_and_tmp_come_before_every_bind(monkeypatch):
    args = _mounts(monkeypatch, ["/opt/python", "/tmp/x/venv"])
    first_bind = args.index("--ro-bind")
    assert _position(args, "--tmpfs", "/tmp") < first_bind
    assert _position(args, "--tmpfs", isolation.WORK_DIR) < first_bind
