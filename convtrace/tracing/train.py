"""A short training run: K steps of SGD on the scenario's batch (or on mini-batches of a
dataset drawn in a fixed order), beside torch's own training loop started from the same
weights with the same optimizer.

Step k: the batch's loss with the current parameters, backward, then one SGD step (the loss
recorded at step k is the loss *before* step k's update, as a training loop prints it). torch's
loop takes the same steps with its own parameters, gradients and ``torch.optim.SGD``; its loss is
recorded beside ours. The verdict: max |Δloss| over the steps, and the final parameters as
stages compared with torch's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ..core.errors import NumericError
from ..core.optim import SGD
from ..i18n import Msg, _
from .network import build_network
from .pipeline import LOSSES, run_pipeline
from .stage import Stage, Trace


@dataclass
class TrainStep:
    step: int
    loss: float
    reference_loss: float | None = None


@dataclass
class TrainRun:
    """What ``train`` returns. steps: one per step taken; final: a Trace whose stages are the
    final parameters (``final.conv.weight``, torch's as reference) and ``train.loss`` (the
    losses, torch's as reference); traces: [(step, Trace)] for ``every``; interrupted: Ctrl-C
    stopped the run early (the steps so far are kept)."""

    scenario: object
    sgd: SGD
    total: int
    batch_size: int
    steps: list[TrainStep] = field(default_factory=list)
    final: Trace | None = None
    traces: list[tuple[int, Trace]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def losses(self) -> np.ndarray:
        return np.array([s.loss for s in self.steps])

    @property
    def reference_losses(self) -> np.ndarray | None:
        if not self.steps or self.steps[0].reference_loss is None:
            return None
        return np.array([s.reference_loss for s in self.steps])

    @property
    def max_loss_diff(self) -> float | None:
        """max |Δloss| over the steps (None without torch's loop)."""
        ref = self.reference_losses
        return None if ref is None else float(np.max(np.abs(self.losses - ref)))

    @property
    def tolerance(self) -> float:
        return self.final.tolerance if self.final is not None else 0.0

    def failures(self) -> list[Stage]:
        return self.final.failures() if self.final is not None else []


def batch_indices(step: int, batch_size: int, total: int) -> np.ndarray:
    """The samples of step ``step``: the next ``batch_size`` in a fixed order, wrapping."""
    return (step * batch_size + np.arange(batch_size)) % total


@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def train(
    scenario,
    sgd: SGD,
    steps: int = 20,
    *,
    batch_size: int | None = None,
    reference: bool = True,
    every: int | None = None,
    on_step: Callable[[TrainStep], None] | None = None,
) -> TrainRun:
    """Train the scenario's network for ``steps`` SGD steps (see the module's docstring).

    batch_size: samples a step (default: the whole batch); every: also record the full trace
    (with torch's values) of steps 0, every, 2·every, …; on_step(step): called after each step.
    Ctrl-C ends the run early with the steps so far (``interrupted``).
    """
    s = scenario
    total = s.x.shape[0]
    size = total if batch_size is None else batch_size
    run = TrainRun(s, sgd, steps, size)
    # im2col for speed (the loop method is for looking at, not for training); the run's
    # method still shows in the full traces of --every
    layers = build_network(replace(s, method="im2col"))
    start = {f"{layer.name}.{p}": np.array(v, copy=True)
             for layer in layers for p, v in layer.params.items()}  # fmt: skip
    model = None
    if reference:
        from .torch_loop import TorchModel

        model = TorchModel(
            layers, start, s.dtype, lr=sgd.lr, momentum=sgd.momentum,
            weight_decay=sgd.weight_decay, rtol=_rtol(s), settle=not s.bug,
        )  # fmt: skip
    loss_fn = LOSSES[s.loss]()
    try:
        for k in range(steps):
            if size == total:
                x, y = s.x, s.target
            else:
                idx = batch_indices(k, size, total)
                x, y = s.x[idx], np.asarray(s.target)[idx]
            if every and k % every == 0:
                run.traces.append((k, _full_trace(s, layers, x, y, reference)))
            a = x
            for layer in layers:
                a = layer.next_input(layer.forward(a))
            loss = float(loss_fn.forward(a, y))
            if not np.isfinite(loss):
                raise NumericError(
                    _(
                        "the loss left {dtype}'s range at step {k} (it was {first:.4g} at step "
                        "0): the steps diverged; use a smaller --lr"
                    ).format(dtype=s.dtype, k=k, first=run.steps[0].loss if run.steps else loss)
                )
            dout = loss_fn.backward()
            for layer in reversed(layers):
                dout = layer.backward(dout)
            ref = model.step(x, y, s.loss, layers=layers) if model is not None else None
            sgd.step_layers(layers)
            record = TrainStep(k, loss, ref)
            run.steps.append(record)
            if on_step is not None:
                on_step(record)
    except KeyboardInterrupt:
        run.interrupted = True
    run.final = _final_trace(run, layers, model)
    return run


def _rtol(s) -> float:
    from .stage import TOLERANCE

    return TOLERANCE[s.dtype]


def _full_trace(s, layers, x, y, reference: bool) -> Trace:
    """The whole trace of one step: the batch with the current parameters."""
    params = {f"{layer.name}.{p}": np.array(v, copy=True)
              for layer in layers for p, v in layer.params.items()}  # fmt: skip
    trace = run_pipeline(replace(s, x=x, target=y, params={**s.params, **params}))
    if reference:
        from .reference import attach_reference

        attach_reference(trace)
    return trace


def _final_trace(run: TrainRun, layers, model) -> Trace:
    s = run.scenario
    trace = Trace(scenario=s, dtype=s.dtype, has_reference=model is not None, layers=layers)
    ref_params = model.values() if model is not None else {}
    done = len(run.steps)
    for layer in layers:
        for part, value in layer.params.items():
            name = f"{layer.name}.{part}"
            trace.add(
                Stage(
                    f"final.{name}",
                    Msg("{name} after {steps} SGD steps", name=name, steps=done),
                    np.array(value, copy=True),
                    f"{name} ← {name} − η·∂L/∂{name}, {done}×",
                    reference=ref_params.get(name),
                    axes=None,
                )
            )
    if run.steps:
        losses = run.losses.astype(s.dtype)
        ref = run.reference_losses
        trace.add(
            Stage(
                "train.loss",
                Msg("Loss at each step"),
                losses,
                f"loss {losses[0] + 0.0:.4g} → {losses[-1] + 0.0:.4g}",
                reference=None if ref is None else ref.astype(s.dtype),
                axes=("step",),
            )
        )
    return trace
