"""convtrace in a notebook: ``convtrace.trace(...)`` runs what ``convtrace run`` runs and hands
back a ``NotebookTrace`` that Jupyter displays as the same panels, coloured.

>>> import convtrace
>>> t = convtrace.trace(seed=42, stride=2, padding="same")   # the options of `convtrace run`
>>> t["conv.out"].shape                                      # a stage's values, a numpy array
(1, 2, 3, 3)
>>> t.show("grad.*")                     # the gradients' panels; t.explain("conv.out[0,1,2,2]")

A thin shell, like the CLI: the keyword arguments become the same ``ScenarioSpec``
(``spec_from_values``), the run is the same pipeline and reference, and the views are the CLI's
own (``cli.show.print_view``, ``render.explain``), recorded by a Rich console and handed to
Jupyter as HTML with inline colours (plus the plain text). torch is imported only when the
reference is computed (``reference=True``, the default).
"""

from __future__ import annotations

import difflib
import io
import json
import os
from dataclasses import fields

import numpy as np

from .core.errors import ConvtraceError
from .i18n import _

#: ``convtrace run``'s output options that a notebook takes (the others — --json, --step,
#: --export, --color, … — have methods or make no sense here), with their defaults.
RUN_OPTIONS = {"reference": True, "gradcheck": False, "precision": 4, "side_by_side": False,
               "theme": "default", "lang": None, "lr": None, "momentum": 0.0,
               "weight_decay": 0.0}  # fmt: skip
#: keywords that take a (float) number
NUMBER_OPTIONS = ("lr", "momentum", "weight_decay")
#: The pre block Jupyter shows: Rich's own style for notebook output (monospace, no wrapping).
_PRE = (
    '<pre style="white-space:pre;overflow-x:auto;line-height:normal;'
    "font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace\">{code}</pre>"
)


def _scenario_options() -> dict:
    """The scenario options of ``convtrace run`` (name -> default), read from the CLI's own
    list so both always take the same ones."""
    from .cli.options import SCENARIO_PARAMS

    return {p.name: p.default for p in SCENARIO_PARAMS}


def _closest(name: str, known) -> str:
    """``No such option: seeed; did you mean seed (or size)?``, as the CLI words it."""
    from .cli.errors import no_such_option

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    if not close:
        return _("No such option: {option}; the options are {options}").format(
            option=name, options=", ".join(known)
        )
    return no_such_option(name, close)


def _check_value(name: str, value, default) -> None:
    """The CLI's type checks (Typer's), for values typed in Python rather than on a shell."""
    from .scenario.toml_file import INT_KEYS, PAIR_KEYS, TEXT_KEYS

    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    def is_pair(v):
        return isinstance(v, (tuple, list)) and len(v) == 2 and all(map(is_int, v))

    if value is None or name in ("input", "weights", "target", "scenario", "resize"):
        return  # files (or inline arrays) are judged by the same loaders as the CLI's
    if name in NUMBER_OPTIONS:
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, bool
        )
        what = "a number"
    elif name in INT_KEYS or name in PAIR_KEYS:
        ok = is_int(value) or (name in PAIR_KEYS and is_pair(value))
        what = "a valid integer" + (" or a pair (h, w)" if name in PAIR_KEYS else "")
    elif name == "padding":
        ok, what = isinstance(value, str) or is_int(value) or is_pair(value), "valid | same | N"
    elif name in TEXT_KEYS or name in ("bug", "theme", "lang"):
        ok, what = isinstance(value, str), "a string"
    elif isinstance(default, bool):
        ok, what = isinstance(value, bool), "True or False"
    else:
        ok, what = is_int(value), "a valid integer"
    if not ok:
        raise ConvtraceError(
            _("Invalid value for {name!r}: {value!r} is not {what}").format(
                name=name, value=value, what=what
            )
        )


def _inline(name: str, value):
    """A numpy array (or a dict of them for ``weights``) as the nested lists a scenario file
    may hold inline, so the CLI's loaders check it; a path as its text."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if name == "weights" and isinstance(value, dict):
        return {k: np.asarray(v).tolist() for k, v in value.items()}
    return value


def trace(**options) -> NotebookTrace:
    """Run the network as ``convtrace run`` does and return its ``NotebookTrace``; its views
    (and a ConvtraceError) are in ``lang`` (``"es"`` | ``"en"``; default: the environment's
    LC_ALL / LC_MESSAGES / LANG, as the CLI). See ``_trace`` for the options."""
    from .i18n import language, resolve_language

    lang = options.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise ConvtraceError(
            _("Invalid value for {name!r}: {value!r} is not {what}").format(
                name="lang", value=lang, what="es | en"
            )
        )
    try:
        chosen = resolve_language(lang)
    except ValueError as error:
        raise ConvtraceError(str(error)) from None
    options["lang"] = chosen
    with language(chosen):
        return _trace(**options)


def _trace(**options) -> NotebookTrace:
    """Run the network as ``convtrace run`` does and return its ``NotebookTrace``.

    options: the options of ``convtrace run`` with underscores (``seed=42, stride=2,
    padding="same", net="conv(4,3) relu maxpool(2) fc(3)", loss="ce", input="x.npy",
    weights="w.pt", scenario="examples/digit.toml", method="loop", dtype="float64"``);
    ``input``/``target`` may also be numpy arrays and ``weights`` a dict of them.
    ``reference=False`` skips torch (``--no-compare-torch``); ``gradcheck=True`` adds the
    finite differences; ``lr=0.1`` (``momentum=``, ``weight_decay=``) one SGD step after the
    backward pass; ``precision``, ``side_by_side``, ``theme``: how it is shown.
    A bad option or value raises ConvtraceError with the CLI's one-line message.
    """
    scenario_defaults = _scenario_options()
    known = {**scenario_defaults, **RUN_OPTIONS, "compare_torch": True}
    for name, value in options.items():
        if name not in known:
            raise ConvtraceError(_closest(name, [*scenario_defaults, *RUN_OPTIONS]))
        _check_value(name, value, known[name])
    run = {k: options.pop(k, v) for k, v in RUN_OPTIONS.items()}
    if "compare_torch" in options:  # the CLI's name for reference=
        run["reference"] = options.pop("compare_torch")
    from .render.console import parse_theme
    from .scenario.toml_file import spec_from_values
    from .tracing.run import compute_trace

    theme = parse_theme(run["theme"])
    if not 0 <= run["precision"] <= 12:
        raise ConvtraceError(
            _("Invalid value for 'precision': {run} is not in the range 0<=x<=12").format(
                run=run["precision"]
            )
        )
    from .cli.sgd_options import make_sgd

    sgd = make_sgd(run["lr"], run["momentum"], run["weight_decay"])
    values = {k: _inline(k, v) for k, v in options.items()}
    # Like typed flags, the given keywords override a scenario file (even at their defaults).
    spec = spec_from_values(values, explicit=set(values))
    result = compute_trace(spec, reference=run["reference"], gradcheck=run["gradcheck"], sgd=sgd)
    return NotebookTrace(
        result,
        precision=run["precision"],
        side_by_side=run["side_by_side"],
        theme=theme,
        lang=run["lang"],
    )


def in_jupyter() -> bool:
    """Whether output goes to a Jupyter front end (Rich's own test: Jupyter, Colab, …)."""
    from rich.console import Console

    return Console().is_jupyter


class RecordedView:
    """Something printed once by a recording console; Jupyter shows it as HTML (colours as
    inline styles) or plain text, whichever the front end prefers.

    draw(console): prints the view on the console it is given.
    """

    def __init__(self, draw, theme: str = "default"):
        from .render.export import recording_console

        console = recording_console(theme)
        draw(console)
        self.html = console.export_html(inline_styles=True, code_format=_PRE, clear=False)
        text = console.export_text(clear=False, styles=False)
        self.text = "\n".join(line.rstrip() for line in text.splitlines())

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": self.text, "text/html": self.html}

    def __repr__(self) -> str:
        return self.text


class _Collected:
    """A stand-in for a Console that keeps what ``print_view`` prints, as renderables."""

    def __init__(self, width: int):
        self.width = width
        self.renderables: list = []

    def print(self, renderable, style=None, justify=None) -> None:
        from rich.align import Align
        from rich.styled import Styled
        from rich.text import Text

        if isinstance(renderable, str):
            renderable = Text.from_markup(renderable)
        if style:
            renderable = Styled(renderable, style)
        if justify == "center":
            renderable = Align.center(renderable)
        self.renderables.append(renderable)


def _shown_explanation(explanation):
    """The Explanation, with a one-line repr (its panel is already on the screen)."""
    from .explain.cell import Explanation

    class ShownExplanation(Explanation):
        def __repr__(self) -> str:
            verdict = "agrees with the trace" if self.agrees_with_trace else "≠ the trace"
            if self.agrees_with_reference is not None:
                verdict += " and torch" if self.agrees_with_reference else ", ≠ torch"
            return f"<Explanation {self.cell} = {self.value:g}: {len(self.terms)} terms, {verdict}>"

    args = {f.name: getattr(explanation, f.name) for f in fields(explanation) if f.init}
    return ShownExplanation(**args)


class NotebookTrace:
    """A run, for a notebook: ``t["conv.out"]`` is the array, ``t.show(pattern)`` the panels,
    ``t.explain(cell)`` one number as its sum, ``t.to_dict()`` the ``--json`` document.

    trace: the underlying ``Trace`` (``t.stage(name)`` is one of its ``Stage``s).
    precision / side_by_side / theme: how ``show`` and the notebook's display draw it.
    """

    def __init__(self, trace, *, precision: int = 4, side_by_side: bool = False,
                 theme: str = "default", lang: str = "en"):  # fmt: skip
        self.trace = trace
        self.lang = lang
        self.precision = precision
        self.side_by_side = side_by_side
        self.theme = theme

    # ------------------------------------------------------------------ lookup
    @property
    def names(self) -> list[str]:
        """Every stage's name, in the order the run computed them."""
        return self.trace.names

    def keys(self) -> list[str]:
        return self.names

    def __contains__(self, name) -> bool:
        return name in self.trace

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.trace)

    def stage(self, name: str):
        """The Stage ``name`` (ours, torch's ``reference``, formula, axes, …)."""
        if name not in self.trace:
            raise KeyError(f"no stage {name!r}; stages are: {', '.join(self.names)}")
        return self.trace[name]

    def __getitem__(self, name: str) -> np.ndarray:
        """Our values of stage ``name``: a copy, so editing it cannot change the trace."""
        return np.array(self.stage(name).values, copy=True)

    @property
    def failures(self) -> list[str]:
        """Names of the stages that disagree with torch (or with the other method)."""
        return [s.name for s in self.trace.failures()]

    # ------------------------------------------------------------------ views
    def _stages(self, pattern: str | None):
        stages = self.trace.select(pattern)
        if pattern and not stages:
            raise ConvtraceError(
                _("no stage matches {pattern!r}; stages are: {names}").format(
                    pattern=pattern, names=", ".join(self.names)
                )
            )
        return stages

    def _draw(self, pattern: str | None, precision: int | None = None):
        """``draw(console)`` printing the CLI's view (heading, panels, closing table)."""
        from .cli.output import OutputOptions
        from .cli.show import print_view

        stages = self._stages(pattern)
        out = OutputOptions(
            precision=self.precision if precision is None else precision,
            side_by_side=self.side_by_side,
            theme=self.theme,
        )
        failing = [s.name for s in stages if s.agrees(self.trace.tolerance) is False]
        return self._spoken(lambda console: print_view(console, self.trace, stages, out, (),
                                                       failing, panels=True))  # fmt: skip

    def _spoken(self, draw):
        """``draw`` run in this trace's language."""
        from .i18n import language

        def spoken(console):
            with language(self.lang):
                draw(console)

        return spoken

    def _present(self, draw) -> None:
        """Display in Jupyter, print (with the terminal's colours) anywhere else."""
        if in_jupyter():
            from IPython.display import display

            display(RecordedView(draw, self.theme))
        else:
            from .render.console import make_console

            draw(make_console(theme=self.theme))

    def view(self, pattern: str | None = None, precision: int | None = None) -> RecordedView:
        """The panels of the stages matching ``pattern`` (all by default), as an object that
        Jupyter displays (``.html``, ``.text``)."""
        return RecordedView(self._draw(pattern, precision), self.theme)

    def show(self, pattern: str | None = None, precision: int | None = None) -> None:
        """Show the stages whose name matches the glob ``pattern`` (``"grad.*"``,
        ``"conv.out"``; all by default), as ``convtrace run --only PATTERN`` does."""
        self._present(self._draw(pattern, precision))

    def explain(self, cell: str, precision: int | None = None):
        """Show where one number comes from (``"conv.out[0,1,2,2]"``), as ``convtrace explain``
        does, and return the ``Explanation`` (its ``terms``, ``value``, ``reference``, …)."""
        from .explain.cell import explain_cell, parse_cell
        from .i18n import language
        from .render.explain import explanation_view

        with language(self.lang):
            stage, index = parse_cell(cell, self.trace.layers if self.trace.scenario.net else None)
            explanation = explain_cell(self.trace, stage, index)
        digits = self.precision if precision is None else precision
        self._present(
            self._spoken(lambda console: console.print(explanation_view(explanation, digits)))
        )
        return _shown_explanation(explanation)

    def to_dict(self, pattern: str | None = None) -> dict:
        """The ``convtrace run --json`` document (of the stages matching ``pattern``)."""
        from .render.json_out import check_document_size, write_trace_document

        stages = self._stages(pattern)
        check_document_size(stages, self.trace.scenario.max_elements)
        stream = io.StringIO()
        from .i18n import english

        with english():
            write_trace_document(self.trace, stages, stream)
        return json.loads(stream.getvalue())

    # ------------------------------------------------------------------ display protocols
    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return self.view()._repr_mimebundle_(include, exclude)

    def __rich_console__(self, console, options):
        """Every panel, for ``rich.print(t)``, at the printing console's width: drawn by a
        console with convtrace's theme, so any console can print the (resolved) styles."""
        from .render.console import make_console

        width = options.max_width
        painter = make_console(width=width, file=io.StringIO(), force_terminal=True,
                               theme=self.theme)  # fmt: skip
        collected = _Collected(width)
        self._draw(None)(collected)
        for renderable in collected.renderables:
            yield from painter.render(renderable, painter.options.update(width=width))

    def __repr__(self) -> str:
        from .render.heading import scenario_heading

        verdict = (
            "no torch reference"
            if not self.trace.has_reference
            else f"{len(self.failures)} disagree with torch"
            if self.failures
            else "all agree with torch"
        )
        heading = scenario_heading(self.trace.scenario)
        return f"<NotebookTrace {heading}: {len(self)} stages, {verdict}>"
