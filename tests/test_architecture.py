"""The package imports only downward (../shared/design.md): cli/notebook → live → render →
explain/check/bench → tracing → scenario → core. Read from the source with ast, so a lazy
import inside a function counts too. The notebook is a shell like the CLI and shares its option
table, so the two stand on one level."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "convtrace"
ORDER = [
    {"core"},
    {"scenario"},
    {"tracing"},
    {"explain", "check", "bench"},
    {"render"},
    {"live"},
    {"cli", "notebook", "notebook_train", "notebook_check"},
]
LEVEL = {package: level for level, group in enumerate(ORDER) for package in group}


def _imports(path: Path) -> list[str]:
    """Top-level convtrace packages imported by the module at ``path``."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(parts[: len(parts) - node.level])
                target = base + (node.module.split(".") if node.module else [])
            else:
                target = (node.module or "").split(".")
            names = [alias.name for alias in node.names]
            if target[:1] == ["convtrace"]:
                found += [target[1]] if len(target) > 1 else names
        elif isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name.split(".")
                if target[0] == "convtrace" and len(target) > 1:
                    found.append(target[1])
    return found


MODULES = sorted(p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).parts[0] != "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_upward_import(path):
    own = path.relative_to(ROOT).with_suffix("").parts[0]
    if own not in LEVEL:
        return  # i18n, i18n_catalog, __main__: shared helpers outside the layering
    upward = [p for p in _imports(path) if p in LEVEL and LEVEL[p] > LEVEL[own]]
    assert not upward, f"{path.relative_to(ROOT)} imports {upward}, above {own}"


def test_the_rule_sees_an_upward_import(tmp_path, monkeypatch):
    """The walker finds a lazy upward import (the kind --bug used to have)."""
    module = ROOT / "tracing" / "network.py"
    source = "def f():\n    from ..check.catalog import BuggyConv\n"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert _imports(module) == ["check"]
