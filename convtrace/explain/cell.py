"""Where one number comes from: a cell of the trace written as its short sum, term by term.

Pure numpy: the terms are recomputed from the formulas (the scenario's arrays and, for the
gradients, the trace's ∂L/∂H), never read from the answer, so "the terms add up to the trace's
value" is a real check. With ``x_pad`` the zero-padded input and ``dH`` = ∂L/∂H (stage
``grad.conv.out``, after the ReLU mask when there is one)::

    conv.out[n,f,i,j]         = Σ_{c,u,v} x_pad[n,c, i·s_h+u·d_h, j·s_w+v·d_w] · W[f,c,u,v] + b[f]
    pool.out[n,c,i,j]         = max (or mean) of the window at (i·ps_h, j·ps_w) of the pool input
    grad.conv.weight[f,c,u,v] = Σ_{n,i,j} dH[n,f,i,j] · x_pad[n,c, i·s_h+u·d_h, j·s_w+v·d_w]
    grad.conv.bias[f]         = Σ_{n,i,j} dH[n,f,i,j]
    grad.input[n,c,r,q]       = Σ dH[n,f,i,j] · W[f,c,u,v]  over every (f,i,j,u,v) with
                                i·s_h + u·d_h − p_top = r  and  j·s_w + v·d_w − p_left = q

Counting: padding cells are *included* as terms with the factor 0 (conv.out has C·kh·kw terms,
grad.conv.weight N·H_out·W_out: one per entry of the X_col row, as the matrix product sees
them). Max pooling is written as a sum too, Σ a·[a is the chosen cell], with the same 0/1 mask
the backward pass uses; average pooling as Σ a·1/(kh·kw).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import ConvtraceError
from .sums import SUMS, Term

#: The stages explain covers, with the names of their axes.
AXES = {
    "conv.out": ("n", "f", "i", "j"),
    "pool.out": ("n", "c", "i", "j"),
    "grad.conv.weight": ("f", "c", "u", "v"),
    "grad.conv.bias": ("f",),
    "grad.input": ("n", "c", "r", "q"),
}
EXPLAINABLE = tuple(AXES)
_CELL = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*\[\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\]\s*$")
_HOW = "write a cell as stage[i,j,...], e.g. conv.out[0,1,2,2] or grad.conv.bias[1]"
#: What explain covers, as a student would write it: ``conv.out[n,f,i,j], …``.
COVERED = ", ".join(f"{name}[{','.join(axes)}]" for name, axes in AXES.items())
_NAME = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(\[.*)?$")


@dataclass
class Explanation:
    """One cell explained.

    value: Σ products (+ bias), recomputed here in float64. trace_value: the pipeline's value.
    reference: torch's value (None without a reference). tolerance: the absolute difference
    still counted as agreement, ``rtol · max(1, Σ|products| + |bias|)`` (the size of the
    rounding a float sum of these terms can make). details: what the views need (grids as
    arrays, window coordinates, counts).
    """

    cell: str
    stage: str
    index: tuple[int, ...]
    kind: str
    formula: str
    value: float
    trace_value: float
    reference: float | None
    terms: list[Term]
    bias: float | None = None
    tolerance: float = 0.0
    details: dict = field(default_factory=dict)

    @property
    def agrees_with_trace(self) -> bool:
        return abs(self.value - self.trace_value) <= self.tolerance

    @property
    def agrees_with_reference(self) -> bool | None:
        if self.reference is None:
            return None
        return abs(self.value - self.reference) <= self.tolerance


def cell_name(stage: str, index) -> str:
    return f"{stage}[{','.join(str(i) for i in index)}]"


def parse_cell(text: str) -> tuple[str, tuple[int, ...]]:
    """``"conv.out[0,1,2,2]"`` -> ``("conv.out", (0, 1, 2, 2))``."""
    named = _NAME.match(text or "")
    if named and named.group(1).lower() not in EXPLAINABLE:
        raise ConvtraceError(
            f"explain has no sum for {named.group(1)!r}; it explains one cell of: {COVERED}, "
            "e.g. 'conv.out[0,1,2,2]'"
        )
    match = _CELL.match(text or "")
    if not match:
        raise ConvtraceError(f"cannot read the cell {text[:60]!r}: {_HOW}")
    parts = [p.strip() for p in match.group(2).split(",")]
    for part in parts:  # int() refuses more than 4300 digits, with a message about Python
        if len(part.lstrip("-")) > 18:
            raise ConvtraceError(
                f"cannot read the cell {text[:60]!r}: the index {part[:20]}… has "
                f"{len(part.lstrip('-'))} digits, far more than any tensor has cells"
            )
    return match.group(1).lower(), tuple(int(p) for p in parts)


def _check_cell(trace, stage_name: str, index: tuple[int, ...]):
    if stage_name not in EXPLAINABLE:
        known = "is a stage of this run, but" if stage_name in trace else "is not a stage;"
        raise ConvtraceError(
            f"{stage_name} {known} explain covers: "
            f"{', '.join(n for n in EXPLAINABLE if n in trace)}"
        )
    if stage_name not in trace:
        why = "--pool none" if stage_name == "pool.out" else "it needs the backward pass"
        raise ConvtraceError(f"{stage_name} is not in this run ({why})")
    stage = trace[stage_name]
    shape, axes = stage.shape, AXES[stage_name]
    wanted = f"{stage_name}[{','.join(axes)}] has shape {tuple(shape)}"
    if len(index) != len(shape):
        raise ConvtraceError(
            f"{wanted}, so a cell needs {len(shape)} indices; got {len(index)}: {list(index)}"
        )
    for axis, i, size in zip(axes, index, shape, strict=True):
        if not 0 <= i < size:
            raise ConvtraceError(
                f"{wanted}; index {list(index)} is out of range: {axis} = {i}, but {axis} runs "
                f"from 0 to {size - 1}"
            )
    return stage


def explain_cell(trace, stage_name: str, index) -> Explanation:
    """Explain ``trace[stage_name][index]`` as its sum of terms (see the module docstring)."""
    index = tuple(int(i) for i in index)
    stage = _check_cell(trace, stage_name, index)
    s = trace.scenario
    kind, formula, terms, bias, details = SUMS[stage_name](trace, s, index)
    value = math.fsum([t.product for t in terms] + [bias or 0.0])
    scale = max(1.0, math.fsum(abs(t.product) for t in terms) + abs(bias or 0.0))
    ref = None if stage.reference is None else float(np.asarray(stage.reference)[index])
    return Explanation(
        cell=cell_name(stage_name, index),
        stage=stage_name,
        index=index,
        kind=kind,
        formula=formula,
        value=value,
        trace_value=float(np.asarray(stage.values)[index]),
        reference=ref,
        terms=terms,
        bias=bias,
        tolerance=trace.tolerance * scale,
        details=details,
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value


def explanation_document(e: Explanation) -> dict:
    """The --json document: every term, the value three ways, and the verdicts."""
    scalars = {k: v for k, v in e.details.items() if not isinstance(v, np.ndarray)}
    doc = {
        "cell": e.cell,
        "stage": e.stage,
        "index": list(e.index),
        "kind": e.kind,
        "formula": e.formula,
        "value": e.value,
        "trace_value": e.trace_value,
        "reference": e.reference,
        "term_count": len(e.terms),
        "terms": [
            {
                "factors": t.factors,
                "product": t.product,
                "where": t.where,
                "meta": _jsonable(t.meta),
            }
            for t in e.terms
        ],
        "tolerance": e.tolerance,
        "agrees": {"trace": e.agrees_with_trace, "torch": e.agrees_with_reference},
        "details": _jsonable(scalars),
    }
    if e.bias is not None:
        doc["bias"] = e.bias
    return doc
