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
    convt: bool = False,
    before_run: Callable | None = None,
    status: Callable = _silent,
):
    """The Trace of ``spec`` (a ScenarioSpec). ``before_run(layers)``: refusals that must come
    before any computing (an --only pattern, explain's cell); ``status(message)``: a context
    manager around each step (the CLI's spinner); ``convt``: each conv's input gradient also
    computed as a transposed convolution of ∂L/∂H (see equivalence.py)."""
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
    if convt:
        from ..core.errors import ParameterError
        from .equivalence import attach_convt

        if not attach_convt(trace, torch=reference):
            raise ParameterError(
                _(
                    "--convt shows a conv layer's input gradient as a transposed convolution, "
                    "but this network has no conv"
                )  # fmt: skip
            )
    if gradcheck:
        with status(_("finite differences of the loss…")):
            from .gradcheck import attach_numeric

            attach_numeric(trace)
    return trace
