"""``convtrace.train(...)`` in a notebook: what ``convtrace train`` runs, handed back as a
``NotebookTrain`` that Jupyter displays (the loss curve, each step beside torch's loop, the
verdicts) like ``convtrace.trace``.

>>> import convtrace
>>> r = convtrace.train(net="conv(4,3) relu maxpool(2) fc(3)", size=8, batch=4, loss="ce",
...                     seed=3, steps=30, lr=0.05)
>>> r.losses[-1] < r.losses[0]                      # one loss a step (numpy array)
True
"""

from __future__ import annotations

import io

import numpy as np

from .core.errors import ConvtraceError
from .i18n import _

#: ``convtrace train``'s own options, as keywords, with their defaults
TRAIN_OPTIONS = {"steps": 20, "lr": 0.01, "momentum": 0.0, "weight_decay": 0.0,
                 "batch_size": None, "every": None, "reference": True, "precision": 4,
                 "theme": "default", "lang": None}  # fmt: skip


def train(**options) -> NotebookTrain:
    """Train as ``convtrace train`` does (the scenario keywords of ``convtrace.trace`` plus
    ``steps``, ``lr``, ``momentum``, ``weight_decay``, ``batch_size``, ``every``,
    ``reference``) and return the ``NotebookTrain``. A bad keyword or value raises
    ConvtraceError with the CLI's one-line message."""
    from .i18n import language, resolve_language
    from .notebook import _check_value, _closest, _inline, _scenario_options

    try:
        chosen = resolve_language(options.get("lang"))
    except (ValueError, TypeError) as error:
        raise ConvtraceError(str(error)) from None
    with language(chosen):
        scenario_defaults = _scenario_options()
        known = {**scenario_defaults, **TRAIN_OPTIONS}
        for name, value in options.items():
            if name not in known:
                raise ConvtraceError(_closest(name, list(known)))
            if name in scenario_defaults:
                _check_value(name, value, known[name])
        run = {k: options.pop(k, v) for k, v in TRAIN_OPTIONS.items()}
        for name in ("steps", "batch_size", "every"):
            value = run[name]
            if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
                raise ConvtraceError(
                    _("Invalid value for {name!r}: {value!r} is not {what}").format(
                        name=name, value=value, what="an integer ≥ 1"
                    )
                )
        from .core.optim import SGD
        from .render.console import parse_theme
        from .scenario.build import build_scenario
        from .scenario.toml_file import spec_from_values
        from .tracing.train import train as train_loop

        sgd = SGD(run["lr"], run["momentum"], run["weight_decay"])
        values = {k: _inline(k, v) for k, v in options.items()}
        scenario = build_scenario(spec_from_values(values, explicit=set(values)))
        result = train_loop(scenario, sgd, run["steps"], batch_size=run["batch_size"],
                            reference=run["reference"], every=run["every"])  # fmt: skip
        return NotebookTrain(result, precision=run["precision"], theme=parse_theme(run["theme"]),
                             lang=chosen)  # fmt: skip


class NotebookTrain:
    """A training run, for a notebook: ``losses`` / ``reference_losses`` (numpy arrays, one a
    step), ``max_loss_diff``, ``failures``, ``final`` (the Trace of the final parameters),
    ``traces`` ([(step, Trace)] with ``every``), ``to_dict()`` (the ``--json`` document)."""

    def __init__(self, run, *, precision: int = 4, theme: str = "default", lang: str = "en"):
        self.run, self.precision, self.theme, self.lang = run, precision, theme, lang

    @property
    def losses(self) -> np.ndarray:
        return self.run.losses

    @property
    def reference_losses(self) -> np.ndarray | None:
        return self.run.reference_losses

    @property
    def max_loss_diff(self) -> float | None:
        return self.run.max_loss_diff

    @property
    def final(self):
        return self.run.final

    @property
    def traces(self) -> list:
        return self.run.traces

    @property
    def failures(self) -> list[str]:
        return [s.name for s in self.run.failures()]

    def _renderables(self) -> list:
        """The heading, the curve, the steps and the verdicts, made in this run's language."""
        from rich.align import Align
        from rich.text import Text

        from .i18n import language
        from .render.heading import scenario_heading
        from .render.train_view import train_renderables

        with language(self.lang):
            heading = Align.center(Text(scenario_heading(self.run.scenario), "ct.title"))
            return [heading, *train_renderables(self.run, self.precision)]

    def _draw(self, console) -> None:
        for renderable in self._renderables():
            console.print(renderable)

    def view(self):
        """The curve, the steps and the verdicts, as an object Jupyter displays."""
        from .notebook import RecordedView

        return RecordedView(self._draw, self.theme)

    def show(self) -> None:
        """Display in Jupyter, print (with the terminal's colours) anywhere else."""
        from .notebook import in_jupyter

        if in_jupyter():
            from IPython.display import display

            display(self.view())
        else:
            from .render.console import make_console

            self._draw(make_console(theme=self.theme))

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return self.view()._repr_mimebundle_(include, exclude)

    def __rich_console__(self, console, options):
        """For ``rich.print(r)``: drawn by a console with convtrace's theme, at the printing
        console's width (as NotebookTrace)."""
        from .render.console import make_console

        width = options.max_width
        painter = make_console(width=width, file=io.StringIO(), force_terminal=True,
                               theme=self.theme)  # fmt: skip
        for renderable in self._renderables():
            yield from painter.render(renderable, painter.options.update(width=width))

    def to_dict(self) -> dict:
        """The ``convtrace train --json`` document."""
        from .render.train_view import train_document

        return train_document(self.run)

    def __repr__(self) -> str:
        losses = self.losses
        if not len(losses):
            return "<NotebookTrain: no steps>"
        verdict = (
            "no torch reference"
            if self.reference_losses is None
            else f"{len(self.failures)} disagree with torch's loop"
            if self.failures
            else "agrees with torch's loop"
        )
        return (f"<NotebookTrain {len(losses)} steps: loss {losses[0]:.4g} → {losses[-1]:.4g}, "
                f"{verdict}>")  # fmt: skip
