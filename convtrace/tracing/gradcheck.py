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
larger stages are sampled (a fixed seed, so the same cells every run, a kink replaced by the
next cell) and the verdict says so. A stage whose every tried cell sat at a kink is *not
checked*: its verdict says so and counts no numeric agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

#: Elements checked per stage, at most (two float64 forward passes each).
BUDGET = 200
#: The agreement rule's rtol for |ours − numeric| ≤ rtol·Σ|terms| + the difference quotient's
#: own error: the analytic gradient of a float32 run carries float32 rounding of the stages
#: before it (~1e-7 relative per operation over a few hundred terms); float64's is limited by
#: the finite difference itself (~1e-10).
TOLERANCE = {"float32": 1e-4, "float64": 1e-6}
#: The stages checked: ``grad.input`` and ``grad.<layer>.weight``/``.bias`` for every
#: parameter, each the gradient of the array of the same name (``input``, ``conv.weight``).


@dataclass
class NumericCheck:
    """The finite-difference witness of one gradient stage.

    indices: (k, ndim) the cells checked; values: (k,) their numeric gradients (NaN at kinks);
    kinks: (k,) booleans, cells where the step crosses a max-pool tie or a ReLU kink;
    of: the stage's number of cells; tolerance: the rule's rtol, see ``TOLERANCE``;
    noise: (k,) the difference quotient's own rounding error, 4·eps·max|L±| / 2h;
    kink_kinds: the layer kinds whose decisions the kinks crossed (``{"maxpool"}``).
    """

    indices: np.ndarray
    values: np.ndarray
    kinks: np.ndarray
    of: int
    tolerance: float
    noise: np.ndarray | None = None
    kink_kinds: frozenset = frozenset()

    @property
    def checked(self) -> int:
        return int(len(self.values) - self.kinks.sum())

    @property
    def sampled(self) -> bool:
        return len(self.values) < self.of

    def _cells(self, analytic, terms):
        keep = tuple(self.indices[~self.kinks].T)
        ours = np.asarray(analytic, np.float64)[keep]
        numeric = self.values[~self.kinks]
        noise = np.zeros_like(numeric) if self.noise is None else self.noise[~self.kinks]
        size = None if terms is None or np.shape(terms) != np.shape(analytic) else terms
        return ours, numeric, noise, None if size is None else np.asarray(size, np.float64)[keep]

    def errors(self, analytic: np.ndarray, terms=None) -> np.ndarray:
        """|ours − numeric| / (Σ|terms| + noise / tolerance) at the checked cells that are not
        kinks, so a cell agrees when its error ≤ tolerance (the stage's max(|ours|, |numeric|)
        stands in for Σ|terms| without it)."""
        ours, numeric, noise, size = self._cells(analytic, terms)
        if not numeric.size:
            return numeric
        if size is None:
            size = np.full(numeric.shape, max(np.abs(ours).max(), np.abs(numeric).max()))
        diff = np.abs(ours - numeric)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(diff == 0, 0.0, diff / (size + noise / self.tolerance))

    def max_error(self, analytic: np.ndarray, terms=None) -> float | None:
        errors = self.errors(analytic, terms)
        return float(np.nanmax(errors)) if errors.size else None

    def agrees(self, analytic: np.ndarray, terms=None) -> bool | None:
        """|ours − numeric| ≤ tolerance·Σ|terms| + noise at every checked cell; None when no
        cell could be checked (all sat at a kink): a check of nothing is not a pass."""
        if not self.checked:
            return None
        return bool(np.all(self.errors(analytic, terms) <= self.tolerance))


def _forward(s, arrays: dict[str, np.ndarray]):
    """(loss, the layers' decisions) of the network with ``arrays`` (``input`` and params).

    decisions: (kind, choices) of every layer's non-differentiable choices (max-pool argmax,
    ReLU on/off)."""
    from .network import build_network
    from .pipeline import LOSSES

    params = {k: v for k, v in arrays.items() if k != "input"}
    run = replace(s, x=arrays["input"], params=params)
    a = arrays["input"]
    decisions = []
    for layer in build_network(run):
        a = layer.next_input(layer.forward(a))
        decisions.append((layer.kind, layer.decisions()))
    return float(LOSSES[s.loss]().forward(a, s.target)), decisions


def _order(shape: tuple[int, ...]) -> np.ndarray:
    """Every flat cell index, in the order cells are tried: all of them in order when they fit
    the budget, else a fixed random order (the same cells every run)."""
    size = int(np.prod(shape)) if shape else 1
    return np.random.default_rng(0).permutation(size)


def _unravel(flat: np.ndarray, shape) -> np.ndarray:
    flat = np.asarray(flat, dtype=int)
    if not shape:
        return np.zeros((len(flat), 0), int)
    return np.stack(np.unravel_index(flat, shape), axis=1).reshape(len(flat), len(shape))


def numeric_gradients(scenario, budget: int = BUDGET, stages=None) -> dict[str, NumericCheck]:
    """{stage name: NumericCheck} for the gradients of the input and every parameter (only
    those in ``stages`` when given: a BatchNorm's running statistics have no gradient).

    Cells are tried in a fixed order until ``budget`` of them were checked: a cell at a kink
    is counted and replaced by the next one (up to ``budget`` more tries), so a sample steps
    away from ties instead of reporting them as its result."""
    s = replace(scenario, method="im2col", bug=None, dtype="float64")
    base = {"input": np.array(s.x, dtype=np.float64)}
    base.update({key: np.array(value, dtype=np.float64) for key, value in s.params.items()})
    _, decisions0 = _forward(s, base)
    tolerance = TOLERANCE[scenario.dtype]
    eps = np.finfo(np.float64).eps
    checks = {}
    for key in base:
        if stages is not None and f"grad.{key}" not in stages:
            continue
        shape = base[key].shape
        tried, values, kinks, noise, kinds = [], [], [], [], set()
        for flat in _order(shape):
            if len(tried) - sum(kinks) >= budget or len(tried) >= 2 * budget:
                break
            index = tuple(_unravel([flat], shape)[0])
            theta = base[key][index]
            h = 1e-6 * max(1.0, abs(theta))
            losses, crossed = [], set()
            for sign in (1, -1):
                arrays = dict(base)
                arrays[key] = base[key].copy()
                arrays[key][index] = theta + sign * h
                loss, decisions = _forward(s, arrays)
                crossed |= {k for (k, a), (_, b) in zip(decisions0, decisions, strict=True)
                            if _crossed(a, b)}  # fmt: skip
                losses.append(loss)
            kinds |= crossed
            tried.append(flat)
            kinks.append(bool(crossed))
            values.append(np.nan if crossed else (losses[0] - losses[1]) / (2 * h))
            noise.append(4 * eps * max(map(abs, losses)) / (2 * h))
        order = np.argsort(tried, kind="stable")
        checks[f"grad.{key}"] = NumericCheck(
            _unravel(np.asarray(tried)[order], shape), np.asarray(values)[order],
            np.asarray(kinks, bool)[order], int(np.prod(shape)), tolerance,
            np.asarray(noise)[order], frozenset(kinds),
        )  # fmt: skip
    return checks


def _crossed(before, after) -> bool:
    return before is not None and not np.array_equal(before, after)


def attach_numeric(trace, budget: int = BUDGET):
    """Compute the numeric witness for the trace's scenario and attach it to each stage.

    A float32 run's gradient also carries the rounding of every stage before it (a saturated
    σ(z) − y is 0 in float32 and 7e-16 in float64): that part, |ours − ours in float64| (the
    same layers, the same --bug), is added, twice, to what each cell may differ by."""
    checks = numeric_gradients(trace.scenario, budget, set(trace.names))
    wide = None
    if trace.dtype != "float64":
        from .pipeline import run_pipeline

        s = trace.scenario
        params = {k: np.asarray(v, np.float64) for k, v in s.params.items()}
        wide = run_pipeline(replace(s, x=np.asarray(s.x, np.float64), params=params,
                                    dtype="float64"))  # fmt: skip
    for name, check in checks.items():
        if name not in trace:
            continue
        stage = trace[name]
        if wide is not None and name in wide and wide[name].shape == stage.shape:
            cells = tuple(check.indices.T)
            ours = np.asarray(stage.values, np.float64)[cells]
            check.noise = check.noise + 2 * np.abs(ours - np.asarray(wide[name].values)[cells])
        stage.numeric = check
    return trace
