"""One run, from a ScenarioSpec to a Trace with its witnesses: the scenario built and checked,
the hand computation, then torch's values and the finite differences when asked. The CLI, the
live view and ``convtrace.trace()`` in a notebook all run through here."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from ..i18n import _


def _silent(message: str):
    return contextlib.nullcontext()


def compute_trace(
    spec,
    *,
    backward: bool = True,
    reference: bool = True,
    gradcheck: bool = False,
    before_run: Callable | None = None,
    status: Callable = _silent,
):
    """The Trace of ``spec`` (a ScenarioSpec). ``before_run(layers)``: refusals that must come
    before any computing (an --only pattern, explain's cell); ``status(message)``: a context
    manager around each step (the CLI's spinner)."""
    from ..scenario.build import build_scenario
    from .pipeline import run_pipeline

    with status(_("computing the network by hand…")):
        scenario = build_scenario(spec)
        if before_run is not None:
            before_run(scenario.layers)
        trace = run_pipeline(scenario, backward=backward)
        if backward:
            _refuse_a_bug_no_gradient_reaches(trace)
    if reference:
        with status(_("asking PyTorch for the same tensors…")):
            from .reference import attach_reference

            attach_reference(trace)
    if gradcheck:
        with status(_("finite differences of the loss…")):
            from .gradcheck import attach_numeric

            attach_numeric(trace)
    return trace


def _refuse_a_bug_no_gradient_reaches(trace) -> None:
    """A --bug of the backward pass cannot show when every gradient reaching its conv is 0
    (a loss saturated in the run's dtype, or a ReLU that lets nothing through): refused, with
    what would show it, rather than a ✓ that checked nothing."""
    import numpy as np

    s = trace.scenario
    if not s.bug:
        return
    from ..core.errors import ParameterError
    from ..core.layers.bugs import reveals

    conv = trace.layers[0]
    plan = s.layers[0]
    if np.any(trace[f"grad.{conv.name}.out"].values):
        return
    if reveals(s.bug, plan.options, np.shape(s.x), forward_only=True):
        return
    raise ParameterError(
        _(
            "--bug {id} changes only the backward pass, and every gradient reaching {conv} is "
            "0 in {dtype} (a saturated loss or a ReLU that passes nothing): try --dtype "
            "float64, another --target or --seed"
        ).format(id=s.bug, conv=conv.name, dtype=s.dtype)
    )
