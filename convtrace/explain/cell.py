"""Where one number comes from: a cell of the trace written as its short sum, term by term.

Pure numpy: the terms are recomputed from the layers' parameters and the stages they read (for
the gradients, the trace's ∂L/∂ of the layer's output), never read from the answer, so "the terms
add up to the trace's value" is a real check. Which stages have a sum depends on the network:
every layer family registers its sums in :mod:`convtrace.explain.kinds` (see
:mod:`convtrace.explain.sums` for the roles). For the classroom network these are::

    conv.out[n,f,i,j]  pool.out[n,c,i,j]  fc.out[n,o]  loss  grad.fc.out[n,o]
    grad.fc.weight[o,k]  grad.fc.bias[o]  grad.flatten.out[n,k]
    grad.conv.weight[f,c,u,v]  grad.conv.bias[f]  grad.input[n,c,r,q]

and in a deeper network the same sums for every layer (``conv2.out[0,3,1,1]``,
``grad.conv1.weight[…]``, ``grad.pool1.out[…]`` = conv2's input gradient).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import ConvtraceError
from ..i18n import N_, _
from .sums import SUMS, Term, axes_of, explainable

_CELL = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?:\[\s*(-?\d+(?:\s*,\s*-?\d+)*)?\s*\])?\s*$")
_HOW = N_("write a cell as stage[i,j,...], e.g. conv.out[0,1,2,2] or grad.conv.bias[1]")
#: The shapes of stage names a sum could exist for (checked before anything is computed).
_FORMS = re.compile(
    r"^(loss|[a-z]+\d*\.out|grad\.[a-z]+\d*\.(out|weight|bias)|grad\.input"
    r"|update\.[a-z]+\d*\.(weight|bias))$"
)
_NAME = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(\[.*)?$")
_CLASSIC = (
    "conv.out[n,f,i,j], pool.out[n,c,i,j], fc.out[n,o], loss, grad.fc.out[n,o], "
    "grad.conv.weight[f,c,u,v], grad.conv.bias[f], grad.input[n,c,r,q]"
)


@dataclass
class Explanation:
    """One cell explained.

    value: Σ products (+ bias), recomputed here in float64. trace_value: the pipeline's value.
    reference: torch's value, computed from the same inputs (None without a reference).
    tolerance: the absolute difference still counted as agreement, ``rtol · (Σ|products| +
    |bias|)`` (the rounding a float sum of these terms can make: the run's agreement rule).
    details: what the views need (grids as arrays, window coordinates, counts).
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
    return f"{stage}[{','.join(str(i) for i in index)}]" if index else stage


def parse_cell(text: str, layers=None) -> tuple[str, tuple[int, ...]]:
    """``"conv.out[0,1,2,2]"`` -> ``("conv.out", (0, 1, 2, 2))``; ``"loss"`` -> ``("loss", ())``.

    Only the form is checked here; whether this network has that stage is :func:`check_covered`.
    ``layers`` (a --net network's, LayerSpecs or layers): a refusal lists its stages, not the
    classroom network's.
    """
    named = _NAME.match(text or "")
    if named and not _FORMS.match(named.group(1).lower()):
        if layers is not None:
            raise ConvtraceError(
                _("explain has no sum for {named!r}; in this network it explains: {layers}").format(
                    named=named.group(1), layers=covered(layers)
                )
            )
        raise ConvtraceError(
            _(
                "explain has no sum for {named!r}; it explains one cell of: "
                "{CLASSIC} (the same for every layer of a --net network), e.g. "
                "'conv.out[0,1,2,2]'"
            ).format(named=named.group(1), CLASSIC=_CLASSIC)
        )
    match = _CELL.match(text or "")
    if not match or (not match.group(2) and match.group(1).lower() != "loss"):
        raise ConvtraceError(
            _("cannot read the cell {text!r}: {HOW}").format(text=text[:60], HOW=_(_HOW))
        )
    parts = [p.strip() for p in (match.group(2) or "").split(",") if p.strip()]
    for part in parts:  # int() refuses more than 4300 digits, with a message about Python
        if len(part.lstrip("-")) > 18:
            raise ConvtraceError(
                _(
                    "cannot read the cell {text!r}: the index {part}… has {part2} "
                    "digits, far more than any tensor has cells"
                ).format(text=text[:60], part=part[:20], part2=len(part.lstrip("-")))
            )
    return match.group(1).lower(), tuple(int(p) for p in parts)


def covered(layers) -> str:
    """What explain covers in a network of ``layers``, as a student would write it."""

    def written(name, key):
        axes = axes_of(key)
        return name if axes == () else f"{name}[{','.join(axes or ('…',))}]"

    return ", ".join(written(name, key) for name, (_, key) in explainable(layers).items())


def check_covered(stage_name: str, layers) -> tuple:
    """The (layer, (family, role)) whose sum explains ``stage_name``; refused, before anything
    is computed, when this network has none."""
    entry = explainable(layers, update=True).get(stage_name)
    if entry is not None:
        return entry
    from ..tracing.pipeline import stage_names

    parts = stage_name.split(".")
    owner = parts[1] if parts[0] == "grad" else parts[0]
    if stage_name in stage_names(layers):
        known = _("is a stage of this network, but explain has no sum for it;")
    elif owner not in {layer.name for layer in layers} | {"input"}:
        known = _("is not a stage of this network (it has no layer called {owner});").format(
            owner=owner
        )
    else:
        known = _("is not a stage of this network;")
    raise ConvtraceError(
        _("{stage_name} {known} explain covers: {layers}").format(
            stage_name=stage_name, known=known, layers=covered(layers)
        )
    )


def _check_cell(trace, stage_name: str, index: tuple[int, ...]):
    """The stage, and the layer and key of its sum, once the cell is known to exist."""
    layer, key = check_covered(stage_name, trace.layers)
    if stage_name not in trace:
        need = (
            _("it needs --lr: one SGD step")
            if stage_name.startswith("update.")
            else _("it needs the backward pass")
        )
        raise ConvtraceError(
            _("{stage_name} is not in this run ({need})").format(stage_name=stage_name, need=need)
        )
    stage = trace[stage_name]
    shape = stage.shape
    axes = axes_of(key) or stage.axes or tuple(f"i{k}" for k in range(len(shape)))
    wanted = _("{cell} has shape {shape}").format(
        cell=f"{stage_name}[{','.join(axes)}]", shape=tuple(shape)
    )
    if not axes:
        wanted = _("{stage} is one number").format(stage=stage_name)
    if len(index) != len(shape):
        raise ConvtraceError(
            _("{wanted}, so a cell needs {count} indices; got {got}: {index}").format(
                wanted=wanted, count=len(shape), got=len(index), index=list(index)
            )
            + (_("; write it as {stage}").format(stage=stage_name) if not axes else "")
        )
    for axis, i, size in zip(axes, index, shape, strict=True):
        if not 0 <= i < size:
            raise ConvtraceError(
                _(
                    "{wanted}; index {index} is out of range: {axis} = {i}, but "
                    "{axis} runs from 0 to {size}"
                ).format(wanted=wanted, index=list(index), axis=axis, i=i, size=size - 1)
            )
    return stage, layer, key


def explain_cell(trace, stage_name: str, index) -> Explanation:
    """Explain ``trace[stage_name][index]`` as its sum of terms (see the module docstring)."""
    index = tuple(int(i) for i in index)
    stage, layer, key = _check_cell(trace, stage_name, index)
    kind, formula, terms, bias, details = SUMS[key](trace, layer, index)
    value = math.fsum([t.product for t in terms] + [bias or 0.0])
    # the agreement rule (tracing/agreement.py): rtol·Σ|terms|, and the dtype's smallest
    # normal number below which floats carry fewer bits; a sum whose terms are made of
    # cancelling parts (the loss: max(z,0) − z·y) says their size in details["term_sum"]
    scale = details.get("term_sum", math.fsum(abs(t.product) for t in terms) + abs(bias or 0.0))
    floor = float(np.finfo(trace.dtype).tiny)
    torch_value = stage.torch  # torch on the same inputs as these terms
    ref = None if torch_value is None else float(np.asarray(torch_value)[index])
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
        tolerance=trace.tolerance * scale + floor,
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
