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
    sgd=None,
):
    """The Trace of ``spec`` (a ScenarioSpec). ``before_run(layers)``: refusals that must come
    before any computing (an --only pattern, explain's cell); ``status(message)``: a context
    manager around each step (the CLI's spinner). ``sgd`` (a ``core.optim.SGD``): one step after
    the backward pass, as ``update.*`` stages (see tracing/update.py).; ``convt``: each conv's input
    gradient also computed as a transposed convolution of ∂L/∂H (see equivalence.py)."""
    from ..scenario.build import build_scenario
    from .pipeline import run_pipeline

    with status(_("computing the network by hand…")):
        scenario = build_scenario(spec)
        if before_run is not None:
            before_run(scenario.layers)
        trace = run_pipeline(scenario, backward=backward)
        _refuse_a_bug_no_gradient_reaches(trace)
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
    if sgd is not None and backward:
        with status(_("one SGD step…")):
            from .update import attach_update

            attach_update(trace, sgd, reference=reference)
    return trace


def _refuse_a_bug_no_gradient_reaches(trace) -> None:
    """A --bug whose mistake gives the right answer for this run's numbers (a weight of 0, a
    gradient that is all 0 where the loss saturates, one max-pool cell per window for an
    overlapping-write mistake) cannot show: refused, with what would show it, rather than a
    ✓ that checked nothing."""
    s = trace.scenario
    if not s.bug:
        return
    from ..core.errors import ParameterError
    from ..core.layers.bugs import shows_in_run

    conv, spec = trace.layers[0], s.layers[0]
    grad = f"grad.{conv.name}.out"
    dout = trace[grad].values if grad in trace else None
    weight, bias = s.params[f"{conv.name}.weight"], s.params[f"{conv.name}.bias"]
    if shows_in_run(s.bug, spec.options, s.x, weight, bias, dout):
        return
    raise ParameterError(
        _(
            "--bug {id} changes no value of this run by more than 0.1%: with these numbers its "
            "mistake gives (nearly) the right answer (a weight of 0, gradients that are 0 where "
            "a loss saturates in {dtype}, one max-pool cell per window): try another --seed, "
            "--pool avg or --dtype float64"
        ).format(id=s.bug, dtype=s.dtype)
    )
