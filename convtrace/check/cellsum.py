"""A graded case's cell written as its sum, with PyTorch's inputs: what the right value is made of.

The case's arrays (x, the weights, dout) become a one-layer Trace whose stages hold torch's
answers, so ``explain.cell.explain_cell`` (the sums of ``convtrace explain``, one per layer
family in ``explain/kinds``) writes any cell of torch's output or gradients term by term::

    conv     out[n,f,i,j] = b[f] + Σ x_pad[n,c,i·s+u,j·s+v]·w[f,c,u,v]; dw, dx, db: the
             backward sums
    pool     out = the window's max (Σ a·[a is the chosen cell]); dx = Σ over the windows
             holding the cell of dout·[it is their max]
    affine   out[n,m] = b[m] + Σ_k x[n,k]·w[k,m] (x flattened per sample); dw, dx, db
    relu     out = x·[x > 0]; dx = dout·[x > 0]
    bn, sbn  out = γ[c]·x̂ + β[c]; dγ = Σ dout·x̂; dβ = Σ dout; dx by its three paths

bn_param's running statistics have no sum (they are a blend, shown as value and torch's).
``markdown_sum`` is the Gradescope form: a code block, at most ``SHOWN`` terms.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from ..i18n import _

SHOWN = 9  # terms written out; the rest are counted and added up in one line
#: the layer each kind of case is, named as ``convtrace explain`` names its stages
LAYER = {"conv": "conv", "pool": "pool", "affine": "fc", "relu": "act", "bn": "bn", "sbn": "bn"}


def stage_name(kind: str, component: str) -> str | None:
    """The stage of the one-layer trace that holds ``component`` (None: no sum for it)."""
    name = LAYER.get(kind)
    stages = {"out": f"{name}.out", "dX": "grad.input"}
    if kind not in ("pool", "relu"):
        stages |= {"dF": f"grad.{name}.weight", "db": f"grad.{name}.bias"}
    return stages.get(component) if name else None


def _layer(r):
    """The core layer the case grades, holding the case's parameters (torch's inputs)."""
    case, kind = r.case, r.case.spec.kind
    if kind == "conv":
        from ..core.layers.conv import Conv

        weight = np.asarray(case.w, dtype=np.float64)
        bias = case.b if r.bias is None else r.bias  # the bias the student's layer used
        letter = "w" if case.api == "cs231n" else "W"  # the course's class holds W
        layer = _named(Conv, letter)(weight.shape[0], weight.shape[2:], case.stride, weight=weight,
                             bias=bias)  # fmt: skip
        layer.pads = case.pads  # as the reference applies them (the course API's own padding)
    elif kind == "pool":
        from ..core.layers.pool import MaxPool2D

        layer = MaxPool2D(case.spec.khw, case.spec.stride)
    elif kind == "affine":
        from ..core.layers.dense import Dense

        w = np.asarray(case.w, dtype=np.float64)  # CS231n's (D, M); a Linear holds (M, D)
        layer = _named(Dense, "wᵀ")(w.shape[0], w.shape[1], weight=w.T.copy(), bias=case.b)
    elif kind == "relu":
        from ..core.layers.relu import ReLU

        layer = ReLU()
    else:
        from ..core.layers.batchnorm import BatchNorm

        s = case.spec
        mode = "train" if s.mode == "train" else "eval"
        layer = BatchNorm(case.w.shape[0], eps=s.eps, momentum=s.momentum, mode=mode)
        layer.weight, layer.bias = np.asarray(case.w), np.asarray(case.b)
        layer.running_mean, layer.running_var = (np.asarray(a) for a in case.running)
    # CS231n's letters: the stage read is x, the output out (so ∂L/∂out is the dout given)
    layer.in_stage, layer.in_symbol, layer.symbol = "x", "x", "out"
    return layer


def _named(cls, weight: str = "w"):
    """``cls`` with CS231n's letters for its parameters (w, b; wᵀ for the affine layer, held
    in torch's (M, D) layout)."""
    return type(cls.__name__, (cls,), {"weight_symbol": weight, "bias_symbol": "b"})


def _as_stage(kind: str, component: str, values: np.ndarray) -> np.ndarray:
    """CS231n's layout of an affine tensor -> the fc layer's: dw (D, M) -> (M, D), dx per
    sample flattened."""
    if kind == "affine" and component == "dF":
        return values.T
    if kind == "affine" and component == "dX":
        return values.reshape(values.shape[0], -1)
    return values


def stage_index(r, component: str, index) -> tuple[int, ...]:
    """``index`` of the student's tensor -> the same cell in the trace's stage."""
    index = tuple(int(i) for i in index)
    if r.case.spec.kind == "affine" and component == "dF":
        return index[::-1]
    if r.case.spec.kind == "affine" and component == "dX":
        rest = r.expected["dX"].shape[1:]
        return (index[0], int(np.ravel_multi_index(index[1:], rest)) if rest else 0)
    return index


def mini_trace(r):
    """A Trace of torch's values for the case: the input, dout as ∂L/∂(layer output), and
    torch's answer for each graded tensor (as values and as the reference)."""
    from ..tracing.stage import Stage, Trace
    from .grade import COMPONENTS, LABELS

    kind = r.case.spec.kind
    layer = _layer(r)
    trace = Trace(scenario=SimpleNamespace(), dtype="float64", has_reference=True, layers=[layer])
    x = np.asarray(r.case.x, dtype=np.float64)
    trace.add(Stage("x", "x", x.reshape(x.shape[0], -1) if kind == "affine" else x))
    trace.add(Stage(f"grad.{layer.name}.out", "∂L/∂out", np.asarray(r.case.dout)))
    for k in COMPONENTS:
        name = stage_name(kind, k)
        if name is not None and k in r.expected:
            values = _as_stage(kind, k, np.asarray(r.expected[k]))
            trace.add(Stage(name, LABELS[k], values, reference=values))
    return trace


def explain(r, component: str, index):
    """The Explanation of torch's ``component[index]`` for case ``r``, or None when there is
    no sum for it (running statistics) or it cannot be written (never hides the verdict)."""
    from ..explain.cell import explain_cell

    name = stage_name(r.case.spec.kind, component)
    if name is None or component not in r.expected:
        return None
    try:
        return explain_cell(mini_trace(r), name, stage_index(r, component, index))
    except Exception:  # noqa: BLE001 - the sum is a bonus; a verdict stands without it
        return None


def _number(value: float) -> str:
    return f"{float(value) + 0.0:.6g}"  # + 0.0: no "-0"


def _term_line(t, first: bool) -> tuple[str, str]:
    factors = " × ".join(_number(f) for f in t.factors)
    value = factors if len(t.factors) == 1 else f"{factors} = {_number(t.product)}"
    return ("  " if first else "+ ") + _(t.where), value


def tensor_name(r, component: str) -> str:
    """The tensor as the student's code names it: out, dw, dx, db (dgamma, dbeta), or the
    course class's dF, dX, db."""
    if component == "out":
        return "out"
    if r.case.api != "cs231n":
        return component
    bn = r.case.spec.kind in ("bn", "sbn")
    return {"dF": "dgamma" if bn else "dw", "dX": "dx", "db": "dbeta" if bn else "db"}.get(
        component, component
    )


def _flattened(r, component: str, index) -> list[str]:
    at = stage_index(r, component, index)
    if r.case.spec.kind != "affine" or np.ndim(r.case.x) <= 2 or component == "db":
        return []
    if component == "dX":
        return [_("x flattened per sample: this cell is x[{n},{k}]").format(n=at[0], k=at[1])]
    return [_("x flattened per sample: x[n,k] with k over {d} values").format(
        d=int(np.prod(np.shape(r.case.x)[1:])))]  # fmt: skip


def markdown_sum(r, component: str, index, got=None) -> str | None:
    """The cell as a Markdown code block: the formula, the first ``SHOWN`` terms with their
    numbers (torch's inputs), the rest added up in one line, torch's value, and the student's
    value ``got`` (None: not shown)."""
    e = explain(r, component, index)
    if e is None:
        return None
    cell = f"{tensor_name(r, component)}[{', '.join(str(int(i)) for i in index)}]"
    rows = [_term_line(t, k == 0) for k, t in enumerate(e.terms[:SHOWN])]
    rest = e.terms[SHOWN:]
    if rest:
        total = math.fsum(t.product for t in rest)
        more = _("… {count} more terms, adding up to").format(count=len(rest))
        rows.append(("+ " + more, _number(total)))
    if e.bias is not None:
        rows.append(("+ " + _("bias"), _number(e.bias)))
    width = min(max(len(a) for a, _b in rows), 60)
    lines = [f"{cell} = {_number(e.value)}", _(e.formula), *_flattened(r, component, index), ""]
    lines += [f"{a:<{width}}  {b}" for a, b in rows]
    lines.append(f"{'= ' + _('PyTorch'):<{width}}  {_number(e.reference)}")
    lines += _pool_lines(e)
    if got is not None:
        lines.append(_("your value: {got}").format(got=_number(got)))
    body = "\n".join(line.replace("```", "'''") for line in lines)
    return "```text\n" + body + "\n```"


def _pool_lines(e) -> list[str]:
    """Max pooling's forward: which cell of the window is the max, and where its gradient
    goes in the backward pass."""
    if e.kind != "pool" or e.details.get("chosen") is None:
        return []
    chosen = e.terms[e.details["chosen"]]
    lines = ["", _("the max is {where} = {value}").format(
        where=chosen.where, value=_number(chosen.factors[0]))]  # fmt: skip
    for where, g in e.details.get("grad_goes", []):
        lines.append(
            _("in the backward pass, dout = {g} goes to x[{cell}] only").format(
                g=_number(g), cell=",".join(map(str, where))
            )
        )
    return lines
