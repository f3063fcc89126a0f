"""The one agreement rule, for torch, the other hand method and the numeric check alike.

A cell agrees when the difference is within the rounding its own computation allows::

    |ours − other| ≤ rtol · Σ|terms|

where Σ|terms| is the sum of the absolute values of the numbers the cell was added up from
(for ``H = W·x + b``: Σ|W|·|x| + |b|), computed by running each layer on the absolute values of
its inputs, parameters and output gradient (see :mod:`convtrace.tracing.local`). So a gradient
of 1e-13 is compared at 1e-13's scale, an exact zero made of large cancelling terms is allowed
the rounding of those terms, and nothing is compared at an absolute floor such as
``max(1, ·)``, under which any small gradient would pass. Torch is judged on the same inputs as
ours (each layer's twin run on our input to that layer), so the rounding of earlier stages is
not carried into the comparison.

Without Σ|terms| (a stage no layer computes, like a parameter or a copy), the stage's own
magnitude stands in for it: ``max(|ours|, |other|)`` over the stage. Differences below the
dtype's smallest normal number (1.2e-38 in float32) are rounding too: denormals carry fewer
bits, and two right computations of σ(−92) give 4e-40 and 0.
"""

from __future__ import annotations

import numpy as np

from ..i18n import _

#: rtol of the rule, by dtype: a few hundred units of rounding (float32's unit is 6e-8).
RTOL = {"float32": 1e-5, "float64": 1e-9}


#: Units of rounding an end-to-end comparison after an upstream disagreement may differ by.
CARRIED_ULPS = 1000


def carried_rtol(rtol: float, values) -> float:
    """rtol for torch's end-to-end values once an earlier stage disagreed: the error a planted
    bug carries downstream must show, so the allowance is what rounding can carry (float32's
    1e-5 is 84 units of rounding and stays; float64's 1e-9 is 4.5 million and would let a bug's
    change of 3.6e-8 in a saturated loss of |terms| ~100 pass), never more than ``rtol``."""
    dtype = np.asarray(values).dtype
    if not np.issubdtype(dtype, np.floating):
        return rtol
    return min(rtol, CARRIED_ULPS * float(np.finfo(dtype).eps))


def rule_text(rtol: float) -> str:
    """The rule as the closing line and the README print it: ``|Δ| ≤ 1e-05·Σ|terms|``."""
    return _("|Δ| ≤ {rtol}·Σ|terms|").format(rtol=f"{rtol:g}")


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def scale(ours, other, terms=None) -> np.ndarray:
    """Σ|terms| per cell (float64), or, without it, the stage's max(|ours|, |other|)."""
    if terms is not None and np.shape(terms) == np.shape(ours):
        return _f64(terms)
    a, b = np.abs(_f64(ours)), np.abs(_f64(other))
    top = max(float(a.max()) if a.size else 0.0, float(b.max()) if b.size else 0.0)
    return np.full(np.shape(ours), top)


def _floor(ours, other) -> float:
    """The dtype's smallest normal number: below it a float has fewer significant bits, so
    two right answers may differ by that much (σ(−92) is 4e-40 one way, 0 another)."""
    kinds = [np.asarray(a).dtype for a in (ours, other)]
    floats = [k for k in kinds if np.issubdtype(k, np.floating)]
    return float(max(np.finfo(k).tiny for k in floats)) if floats else 0.0


def excess(ours, other, terms=None, rtol: float = RTOL["float32"], slack=0.0) -> float:
    """max over cells of |ours − other| / (rtol·Σ|terms| + slack): ≤ 1 means agreement
    (``inf`` for different shapes or a difference where nothing was allowed)."""
    if np.shape(ours) != np.shape(other):
        return float("inf")
    diff = np.abs(_f64(ours) - _f64(other))
    if not diff.size:
        return 0.0
    allowed = rtol * scale(ours, other, terms) + slack + _floor(ours, other)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(diff == 0, 0.0, diff / allowed)
    return float(np.nanmax(np.where(np.isnan(ratio), np.inf, ratio)))


def within(ours, other, terms=None, rtol: float = RTOL["float32"], slack=0.0) -> bool:
    """The rule, everywhere: |ours − other| ≤ rtol·Σ|terms| (+ ``slack``, the numeric check's
    own error) in every cell, with equal shapes."""
    return excess(ours, other, terms, rtol, slack) <= 1.0
