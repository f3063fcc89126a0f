"""A fourth witness for the backward pass: central finite differences of the loss, in float64.

For a parameter (or input) element θ the numeric gradient is::

    ∂L/∂θ ≈ (L(θ + h) − L(θ − h)) / 2h,   h = 1e-6 · max(1, |θ|)

Its error is O(h²) from the Taylor remainder plus O(eps·|L| / h) from rounding L in float64
(eps = 2.2e-16): with h = 1e-6 both are ~1e-10 relative, far below what the comparison
tolerates. The network is rebuilt in float64 from the scenario's arrays with the im2col layers
and without any ``--bug`` (the witness differentiates the correct forward), so it is
independent of our backward code and of torch.

Max pooling and ReLU are not differentiable where a window holds a tie or an input sits at 0:
an element whose ± step changes a pool's chosen cell or a ReLU's on/off decision is a *kink*:
it is counted and left out of the comparison, never reported as a failure.

Each element costs two forward passes, so at most ``BUDGET`` elements per stage are checked;
larger stages are sampled (a fixed seed, so the same cells every run) and the verdict says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

#: Elements checked per stage, at most (two float64 forward passes each).
BUDGET = 200
#: |ours − numeric| ≤ tolerance · max(1, max|numeric|): the analytic gradient of a float32 run
#: carries float32 rounding (~1e-7 relative per operation over a few hundred terms); float64's
#: is limited by the finite difference itself (~1e-10).
TOLERANCE = {"float32": 1e-4, "float64": 1e-6}
#: The stages checked: ``grad.input`` and ``grad.<layer>.weight``/``.bias`` for every
#: parameter, each the gradient of the array of the same name (``input``, ``conv.weight``).


@dataclass
class NumericCheck:
    """The finite-difference witness of one gradient stage.

    indices: (k, ndim) the cells checked; values: (k,) their numeric gradients (NaN at kinks);
    kinks: (k,) booleans, cells where the step crosses a max-pool tie or a ReLU kink;
    of: the stage's number of cells; tolerance: relative, see ``TOLERANCE``.
    """

    indices: np.ndarray
    values: np.ndarray
    kinks: np.ndarray
    of: int
    tolerance: float

    @property
    def checked(self) -> int:
        return int(len(self.values) - self.kinks.sum())

    @property
    def sampled(self) -> bool:
        return len(self.values) < self.of

    def errors(self, analytic: np.ndarray) -> np.ndarray:
        """|ours − numeric| / max(1, max|numeric|) at the checked cells that are not kinks."""
        ours = np.asarray(analytic, np.float64)[tuple(self.indices.T)][~self.kinks]
        numeric = self.values[~self.kinks]
        if not numeric.size:
            return numeric
        return np.abs(ours - numeric) / max(1.0, float(np.max(np.abs(numeric))))

    def max_error(self, analytic: np.ndarray) -> float | None:
        errors = self.errors(analytic)
        return float(errors.max()) if errors.size else None

    def agrees(self, analytic: np.ndarray) -> bool:
        errors = self.errors(analytic)
        return bool(np.all(errors <= self.tolerance))


def _forward(s, arrays: dict[str, np.ndarray]):
    """(loss, the layers' decisions) of the network with ``arrays`` (``input`` and params).

    decisions: every layer's non-differentiable choices (max-pool argmax, ReLU on/off)."""
    from .network import build_network
    from .pipeline import LOSSES

    params = {k: v for k, v in arrays.items() if k != "input"}
    run = replace(s, x=arrays["input"], params=params)
    a = arrays["input"]
    decisions = []
    for layer in build_network(run):
        a = layer.next_input(layer.forward(a))
        decisions.append(layer.decisions())
    return float(LOSSES[s.loss]().forward(a, s.target)), decisions


def _sample(shape: tuple[int, ...], budget: int) -> np.ndarray:
    """(k, ndim) indices: every cell when they fit the budget, else a fixed random sample."""
    size = int(np.prod(shape)) if shape else 1
    flat = np.arange(size)
    if size > budget:
        flat = np.sort(np.random.default_rng(0).choice(size, budget, replace=False))
    return np.stack(np.unravel_index(flat, shape), axis=1) if shape else np.zeros((1, 0), int)


def numeric_gradients(scenario, budget: int = BUDGET, stages=None) -> dict[str, NumericCheck]:
    """{stage name: NumericCheck} for the gradients of the input and every parameter (only
    those in ``stages`` when given: a BatchNorm's running statistics have no gradient)."""
    s = replace(scenario, method="im2col", bug=None, dtype="float64")
    base = {"input": np.array(s.x, dtype=np.float64)}
    base.update({key: np.array(value, dtype=np.float64) for key, value in s.params.items()})
    _, decisions0 = _forward(s, base)
    tolerance = TOLERANCE[scenario.dtype]
    checks = {}
    for key in base:
        stage = f"grad.{key}"
        if stages is not None and stage not in stages:
            continue
        shape = base[key].shape
        indices = _sample(shape, budget)
        values = np.empty(len(indices))
        kinks = np.zeros(len(indices), dtype=bool)
        for k, index in enumerate(map(tuple, indices)):
            theta = base[key][index]
            h = 1e-6 * max(1.0, abs(theta))
            losses = []
            for sign in (1, -1):
                arrays = dict(base)
                arrays[key] = base[key].copy()
                arrays[key][index] = theta + sign * h
                loss, decisions = _forward(s, arrays)
                kinks[k] |= any(map(_crossed, decisions0, decisions))
                losses.append(loss)
            values[k] = np.nan if kinks[k] else (losses[0] - losses[1]) / (2 * h)
        checks[stage] = NumericCheck(indices, values, kinks, int(np.prod(shape)), tolerance)
    return checks


def _crossed(before, after) -> bool:
    return before is not None and not np.array_equal(before, after)


def attach_numeric(trace, budget: int = BUDGET):
    """Compute the numeric witness for the trace's scenario and attach it to each stage."""
    for name, check in numeric_gradients(trace.scenario, budget, set(trace.names)).items():
        if name in trace:
            trace[name].numeric = check
    return trace
