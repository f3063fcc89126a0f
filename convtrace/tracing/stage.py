"""Stage and Trace: the record of one run, plain data with lookup and no other behaviour.

A Stage is one named tensor of the network (``conv.out``, ``grad.conv.weight``, …): our value,
torch's value for the same tensor when a reference was computed, the values of the other hand
method when both were run, and a one-line formula. A Trace is the ordered list of stages.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import NumericError
from ..i18n import _

#: Agreement tolerance, relative to the size of the numbers compared (see ``Stage.agrees``).
TOLERANCE = {"float32": 1e-5, "float64": 1e-9}


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| in float64 (``inf`` when the shapes differ)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


@dataclass
class Stage:
    """One tensor of the run.

    name: canonical dotted name (``conv.out``). title: human words. values: ours (the primary
    method's). reference: torch's value for the same tensor, or None. formula: one line.
    alternatives: other hand methods' values for the same tensor (``{"loop": …}``).
    meta: display hints (e.g. ``{"argmax": …}`` for highlighting pooled cells).
    axes: the name of each axis (``("f", "c", "u", "v")`` for a conv weight), for labels.
    """

    name: str
    title: str
    values: np.ndarray
    formula: str = ""
    reference: np.ndarray | None = None
    alternatives: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    axes: tuple[str, ...] | None = None
    numeric: object = None  # a gradcheck.NumericCheck (finite differences) under --gradcheck
    symbol: str | None = None  # the tensor's letter in the formulas (H, W2, z), for summaries

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.values))

    @property
    def is_gradient(self) -> bool:
        return self.name.startswith("grad.")

    def comparisons(self) -> list[tuple[str, np.ndarray]]:
        """What ``values`` is compared with, as (name, values): other methods, torch last."""
        pairs = list(self.alternatives.items())
        if self.reference is not None:
            pairs.append(("torch", self.reference))
        return pairs

    @property
    def max_abs_diff(self) -> float | None:
        """Largest |ours − reference| and |ours − other method| (None: nothing to compare)."""
        diffs = [max_abs_diff(self.values, other) for _, other in self.comparisons()]
        return max(diffs) if diffs else None

    def worst_index(self) -> tuple[int, ...] | None:
        """Index of the largest |ours − reference| (None without a reference)."""
        if self.reference is None or np.shape(self.reference) != self.shape or not self.shape:
            return None
        return worst_index(self.values, self.reference)

    @property
    def scale(self) -> float:
        """What the tolerance is relative to: ``max(1, max|reference|)`` (ours without one)."""
        base = self.reference if self.reference is not None else self.values
        return max(1.0, float(np.max(np.abs(base))) if np.size(base) else 1.0)

    def within(self, other: np.ndarray, rtol: float) -> bool:
        """One comparison: |ours − other| ≤ ``rtol · scale`` everywhere."""
        return max_abs_diff(self.values, other) <= rtol * self.scale

    def agrees(self, rtol: float) -> bool | None:
        """True when every comparison is within ``rtol · max(1, max|reference|)`` and the
        numeric witness (``--gradcheck``), when present, agrees within its own tolerance.

        None when there is nothing to compare with.
        """
        pairs = self.comparisons()
        if not pairs and self.numeric is None:
            return None
        numeric_ok = self.numeric is None or self.numeric.agrees(self.values)
        return numeric_ok and all(self.within(other, rtol) for _, other in pairs)


def check_in_range(name: str, values, dtype: str) -> None:
    """Raise NumericError if ``values`` holds ±inf or NaN (it overflowed ``dtype``)."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        return  # integer stages (argmax, class indices) cannot overflow to inf
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    index = [int(i) for i in np.argwhere(bad)[0]] if values.ndim else []
    where = _(" at index {index}").format(index=index) if index else ""
    limit = np.finfo(dtype).max
    hint = (
        _("or run with --dtype float64")
        if np.dtype(dtype) != np.float64
        else _("(float64 is the widest)")
    )
    raise NumericError(
        _(
            "stage {name} overflowed: it holds {values}{where}, beyond what "
            "{dtype} holds (±{limit:.4g}); use smaller input or weight "
            "values {hint}"
        ).format(
            name=name, values=values[tuple(index)], where=where, dtype=dtype, limit=limit, hint=hint
        )
    )


def worst_index(ours: np.ndarray, other: np.ndarray) -> tuple[int, ...]:
    """Index of the largest |ours − other| (same shapes)."""
    diff = np.abs(np.asarray(ours, np.float64) - np.asarray(other, np.float64))
    return tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))


@dataclass
class Trace:
    """An ordered list of stages, with the scenario that produced them."""

    stages: list[Stage] = field(default_factory=list)
    scenario: object = None
    dtype: str = "float32"
    has_reference: bool = False
    #: the layers that ran (convtrace.core.layers protocol), for the reference and explain
    layers: list = field(default_factory=list)

    def layer(self, name: str):
        """The layer called ``name`` (``conv2``), or None."""
        return next((layer for layer in self.layers if layer.name == name), None)

    def add(self, stage: Stage) -> Stage:
        """Append a stage, refusing one that overflowed: every later stage would be ±inf or
        NaN, and a disagreement with torch would hide the real cause (numbers too big)."""
        check_in_range(stage.name, stage.values, self.dtype)
        self.stages.append(stage)
        return stage

    def __getitem__(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def __contains__(self, name: str) -> bool:
        return any(stage.name == name for stage in self.stages)

    def __iter__(self):
        return iter(self.stages)

    def __len__(self) -> int:
        return len(self.stages)

    @property
    def names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    @property
    def tolerance(self) -> float:
        return TOLERANCE[self.dtype]

    def select(self, pattern: str | None) -> list[Stage]:
        """Stages whose name matches a glob such as ``'grad.*'`` (all when pattern is None)."""
        if not pattern:
            return list(self.stages)
        return [s for s in self.stages if fnmatch.fnmatchcase(s.name, pattern)]

    def failures(self) -> list[Stage]:
        """Stages that disagree with torch or with the other method beyond the tolerance."""
        return [s for s in self.stages if s.agrees(self.tolerance) is False]
