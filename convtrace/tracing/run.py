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
    sgd=None,
):
    """The Trace of ``spec`` (a ScenarioSpec). ``before_run(layers)``: refusals that must come
    before any computing (an --only pattern, explain's cell); ``status(message)``: a context
    manager around each step (the CLI's spinner). ``sgd`` (a ``core.optim.SGD``): one step after
    the backward pass, as ``update.*`` stages (see tracing/update.py)."""
    from ..scenario.build import build_scenario
    from .pipeline import run_pipeline

    with status(_("computing the network by hand…")):
        scenario = build_scenario(spec)
        if before_run is not None:
            before_run(scenario.layers)
        trace = run_pipeline(scenario, backward=backward)
    if reference:
        with status(_("asking PyTorch for the same tensors…")):
            from .reference import attach_reference

            attach_reference(trace)
    if gradcheck:
        with status(_("finite differences of the loss…")):
            from .gradcheck import attach_numeric

            attach_numeric(trace)
    if sgd is not None and backward:
        with status(_("one SGD step…")):
            from .update import attach_update

            attach_update(trace, sgd, reference=reference)
    return trace
