"""``convtrace.check(...)``: ``convtrace check`` from Python, for a notebook's test cell or an
Otter / nbgrader test.

>>> import convtrace
>>> r = convtrace.check("examples/students/stride_ignored.py", cls="Conv2D")
>>> r.passed, r.score, r.diagnosis            # doctest: +SKIP
(False, 60.0, ['stride-ignored'])

``source`` is a path, a class object or a module; a class or module is written to a temporary
file (the class with the imports its module's globals name) and graded in the same sandbox as
the CLI's: the student's code never runs in this process. torch is imported only here, for the
reference values, never by ``import convtrace``.
"""

from __future__ import annotations

import inspect
import os
import tempfile
import time
import types
from pathlib import Path

from .core.errors import ConvtraceError
from .i18n import _

APIS = {"class": "course", "course": "course", "cs231n": "cs231n"}


class CheckResult:
    """The verdict on one submission: ``passed``, ``score`` (0–100), ``diagnosis`` (catalog
    ids), ``cases`` (one dict per case), ``to_dict()`` (``check --json``'s document) and
    ``to_gradescope()`` (a Gradescope ``results.json``). Jupyter shows the CLI's report."""

    def __init__(self, result, api: str, lang: str, seconds: float = 0.0):
        self._result, self.api, self.lang, self.seconds = result, api, lang, seconds

    @property
    def passed(self) -> bool:
        return self._result.passed

    @property
    def score(self) -> float:
        return 0.0 if self._result.error is not None else float(self._result.score)

    @property
    def error(self) -> str | None:
        """Why the file could not be graded at all (None when it was)."""
        return self._result.error

    @property
    def diagnosis(self) -> list[str]:
        return self._result.diagnosis

    @property
    def cases(self) -> list[dict]:
        from .check.report import case_document

        return [case_document(r) for r in self._result.cases]

    def to_dict(self) -> dict:
        from .check.report import file_document

        return file_document(self._result)

    def to_gradescope(self, hide_cases: bool = False, points: str | dict | None = None) -> dict:
        """Gradescope's ``results.json`` document; ``points`` per graded function
        (``"conv=60,pool=40"`` or a dict), None for a score out of 100."""
        from .check.gradescope import gradescope_document, parse_points
        from .i18n import language

        if isinstance(points, str):
            points = parse_points(points, self.api)
        with language(self.lang):
            return gradescope_document(self._result, hide_cases, self.seconds, points)

    def _view(self):
        from .i18n import language
        from .notebook import RecordedView
        from .render.check import file_view

        with language(self.lang):
            return RecordedView(lambda console: console.print(self._draw(file_view)))

    def _draw(self, file_view):
        from rich.text import Text

        if self._result.error is not None:
            return Text(_("could not be graded: {error}").format(error=_(self._result.error)))
        return file_view(self._result, self.api)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return self._view()._repr_mimebundle_(include, exclude)

    def __repr__(self) -> str:
        return f"CheckResult(passed={self.passed}, score={self.score}, diagnosis={self.diagnosis})"


def _class_source(cls: type) -> str:
    """The class's source with the module imports its module's globals hold (np, math, …)."""
    module = inspect.getmodule(cls)
    names = vars(module) if module is not None else {}
    try:
        body = inspect.getsource(cls)
    except (OSError, TypeError) as error:  # a notebook cell's class (before Python 3.13)
        body = _from_cells(cls.__name__, names.get("In"))
        if body is None:
            raise ConvtraceError(
                _("cannot read the source of {name}: {error}").format(
                    name=cls.__name__, error=error
                )
            ) from None
    imports = [
        f"import {value.__name__} as {name}"
        for name, value in names.items()
        if isinstance(value, types.ModuleType) and not name.startswith("__")
    ]
    return "\n".join(imports) + "\n\n" + body


def _from_cells(name: str, cells) -> str | None:
    """The last definition of class ``name`` in IPython's input history (``In``), or None."""
    import ast

    for cell in reversed(list(cells or [])):
        try:
            tree = ast.parse(cell)
        except (SyntaxError, ValueError, TypeError):  # a cell with magics: not Python
            continue
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return ast.get_source_segment(cell, node)
    return None


def _source_text(source) -> tuple[str | None, str | None]:
    """(a path to grade, or None; the text to write to a temporary file, or None)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ConvtraceError(_("{path} is not a file").format(path=str(path)))
        return str(path), None
    if isinstance(source, type):
        return None, _class_source(source)
    if isinstance(source, types.ModuleType):
        try:
            return None, inspect.getsource(source)
        except (OSError, TypeError) as error:
            raise ConvtraceError(
                _("cannot read the source of {name}: {error}").format(
                    name=source.__name__, error=error
                )
            ) from None
    raise ConvtraceError(_("source: give a path, a class or a module"))


def check(source, cls: str | None = None, api: str = "class", lang: str | None = None,
          timeout: float = 10.0, allow_torch: bool = False) -> CheckResult:  # fmt: skip
    """Grade ``source`` (a path, a class or a module) as ``convtrace check`` does.

    cls: the class to grade for ``api="class"`` (default: a class object's own name, else
    "Conv2D"); api: "class" (the course's layer) or "cs231n" (conv_forward_naive / …); lang:
    the language of the views and of ``to_gradescope()`` ("es" | "en"; default: the
    environment's)."""
    from .i18n import language, resolve_language

    if api not in APIS:
        raise ConvtraceError(
            _("Invalid value for {name!r}: {value!r} is not {what}").format(
                name="api", value=api, what="class | cs231n"
            )
        )
    try:
        chosen = resolve_language(lang)
    except ValueError as error:
        raise ConvtraceError(str(error)) from None
    if cls is None:
        cls = source.__name__ if isinstance(source, type) else "Conv2D"
    with language(chosen):
        path, text = _source_text(source)
        with tempfile.TemporaryDirectory(prefix="convtrace-check-") as folder:
            if text is not None:
                path = os.path.join(folder, "submission.py")
                Path(path).write_text(text, encoding="utf-8")
            checked = _grade(path, cls, APIS[api], chosen, timeout, allow_torch)
    if text is not None:  # the temporary file is gone: name what was graded instead
        checked._result.path = f"<{getattr(source, '__name__', 'source')}>"
    return checked


def _grade(path: str, cls: str, api: str, lang: str, timeout: float, allow_torch: bool):
    from .check.cases import References, build_battery
    from .check.grade import CheckOptions, grade_file
    from .check.isolation import detect

    cases = build_battery(api)
    options = CheckOptions(api=api, class_name=cls, timeout=timeout, allow_torch=allow_torch,
                           isolation=detect())  # fmt: skip
    start = time.monotonic()
    result = grade_file(path, cases, References(cases), options)
    return CheckResult(result, api, lang, time.monotonic() - start)
