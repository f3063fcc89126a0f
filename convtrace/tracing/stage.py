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
from ..i18n import N_, _
from .agreement import RTOL, carried_rtol, within

#: The second torch line of a verdict: torch's own run from the input, every stage feeding the
#: next (counted only after an upstream stage disagreed).
END_TO_END = N_("torch end to end")

#: The agreement rule's rtol by dtype (see convtrace.tracing.agreement).
TOLERANCE = RTOL


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
    method's). reference: torch's own value for the same tensor (its run from the input, end to
    end), or None. local: torch's value computed from our inputs to this stage's layer (what
    the verdict judges; see convtrace.tracing.local). terms: Σ|terms| of each cell, what the
    agreement rule scales with. carried: an earlier stage disagreed on its own inputs, so the
    end-to-end difference counts too. formula: one line.
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
    local: np.ndarray | None = None
    terms: np.ndarray | None = None
    carried: bool = False
    drift: np.ndarray | None = None  # |torch end to end − the same in float64|, when carried

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.values))

    @property
    def is_gradient(self) -> bool:
        return self.name.startswith("grad.")

    @property
    def torch(self) -> np.ndarray | None:
        """torch's value the verdict judges: the local one when computed, else the reference."""
        return self.local if self.local is not None else self.reference

    def own_comparisons(self) -> list[tuple[str, np.ndarray]]:
        """Other methods, then torch on our inputs: what this stage's own computation is judged
        by."""
        pairs = list(self.alternatives.items())
        if self.torch is not None:
            pairs.append(("torch", self.torch))
        return pairs

    def comparisons(self) -> list[tuple[str, np.ndarray]]:
        """What ``values`` is compared with, as (name, values): other methods, torch, and torch
        end to end when an upstream stage disagreed (``carried``)."""
        pairs = self.own_comparisons()
        if self.carried and self.local is not None and self.reference is not None:
            pairs.append((END_TO_END, self.reference))
        return pairs

    @property
    def max_abs_diff(self) -> float | None:
        """Largest |ours − torch| and |ours − other method| (None: nothing to compare)."""
        diffs = [max_abs_diff(self.values, other) for _, other in self.comparisons()]
        return max(diffs) if diffs else None

    @property
    def end_to_end_diff(self) -> float | None:
        """|ours − torch's own run| when the verdict judged the local value instead."""
        if self.local is None or self.reference is None:
            return None
        return max_abs_diff(self.values, self.reference)

    def worst_index(self) -> tuple[int, ...] | None:
        """Index of the largest |ours − torch| (None without a reference)."""
        if self.torch is None or np.shape(self.torch) != self.shape or not self.shape:
            return None
        return worst_index(self.values, self.torch)

    def within(self, other: np.ndarray, rtol: float) -> bool:
        """One comparison under the rule: |ours − other| ≤ rtol·Σ|terms| in every cell (torch's
        end-to-end values may also differ by twice the rounding they carry, ``drift``, and are
        held to at most a thousand units of rounding: see ``carried_rtol``)."""
        if other is not self.reference or self.local is None:
            return within(self.values, other, self.terms, rtol)
        drift = self.drift if self.drift is not None else 0.0
        return within(self.values, other, self.terms, carried_rtol(rtol, self.values), 2 * drift)

    def numeric_agrees(self) -> bool | None:
        """The numeric witness's verdict (None: none, or no cell could be checked)."""
        if self.numeric is None:
            return None
        return self.numeric.agrees(self.values, self.terms)

    def agrees(self, rtol: float) -> bool | None:
        """True when every comparison is within the rule (torch on our inputs, the other
        method, torch end to end after an upstream disagreement) and the numeric witness, when
        it checked any cell, agrees. None when there is nothing to compare with."""
        pairs = self.comparisons()
        numeric = self.numeric_agrees()
        if not pairs and numeric is None:
            return None
        return numeric is not False and all(self.within(other, rtol) for _, other in pairs)


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
