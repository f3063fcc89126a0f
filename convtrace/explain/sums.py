"""Which sum explains which stage: a registry keyed by (layer family, role).

A layer kind that ``convtrace explain`` can write out registers its sums in a module of
:mod:`convtrace.explain.kinds` (imported here, all of them), with :func:`explains`::

    @explains("conv", "out")
    def conv_out(trace, layer, index): ...   # -> (kind, formula, terms, bias, details)

Roles, and the stage each one explains for a layer called ``L`` (the layer after ``L`` is
``M``; the first layer's input gradient is ``grad.input``):

    out     L.out            the layer's output, from its input stage and parameters
    weight  grad.L.weight    ∂L/∂weight, from the input and ∂L/∂(L.out)
    bias    grad.L.bias      ∂L/∂bias, from ∂L/∂(L.out)
    input   grad.L.out       ∂L/∂(M's input), explained by M (grad.input by the first layer)

``loss`` and its derivative ``grad.<last>.out`` are the stages no layer owns: their sums
are registered as ("loss", "value") and ("loss", "grad").
One SGD step (``--lr``) is ("update", "weight") / ("update", "bias"): ``update.L.weight`` for
any layer with parameters.
The terms are recomputed from the layers' parameters and the trace's input stages, never read
from the answer, so "the terms add up to the trace's value" is a real check.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field

import numpy as np

#: (family, role) -> function(trace, layer, index) -> (kind, formula, terms, bias, details)
SUMS: dict[tuple[str, str], object] = {}
#: (family, role) -> the axis names of the stage it explains (for messages and labels)
SUM_AXES: dict[tuple[str, str], tuple[str, ...] | None] = {}


@dataclass
class Term:
    """One term of the sum: its factors, their product, and where each factor lives."""

    factors: list[float]
    product: float
    where: str
    meta: dict = field(default_factory=dict)


def product(a, b, where: str, meta: dict | None = None) -> Term:
    """The term ``a·b`` (two factors, as float), found at ``where``."""
    a, b = float(a), float(b)
    return Term([a, b], a * b, where, meta or {})


def layer_input(trace, layer) -> np.ndarray:
    """What ``layer`` read: the values of its input stage (``input``, ``pool1.out``, …)."""
    return np.asarray(trace[layer.in_stage].values)


def output_grad(trace, layer) -> np.ndarray:
    """∂L/∂ of ``layer``'s output: the stage ``grad.<layer name>.out``."""
    return np.asarray(trace[f"grad.{layer.name}.out"].values)


def symbols(layer, **own) -> dict:
    """A parametrised layer's letters: its input's, its weight's and bias's, and its own."""
    return {"x": layer.in_symbol, "W": layer.weight_symbol, "b": layer.bias_symbol, **own}


def explains(family: str, role: str, axes: tuple[str, ...] | None = None):
    """Register a sum for the stages of ``role`` of every layer of ``family``; ``axes``: the
    stage's axis names, or None when they follow the input (a ReLU on an image or a vector)."""

    def register(function):
        SUMS[family, role] = function
        SUM_AXES[family, role] = None if axes is None else tuple(axes)
        return function

    return register


def idx(*values) -> str:
    return ",".join(str(v) for v in values)


def _family(layer) -> str:
    return getattr(layer, "cls", type(layer)).family  # a LayerSpec (before the run) or a layer


def explainable(layers, update: bool = False) -> dict[str, tuple[object, tuple[str, str]]]:
    """Every stage of a network of ``layers`` (layers, or LayerSpecs before the run) that
    explain covers, in trace order: ``{stage name: (layer or None, (family, role))}``;
    ``update``: also the stages of one SGD step (a run with --lr has them)."""
    out: dict[str, tuple[object, tuple[str, str]]] = {}
    for layer in layers:
        if (_family(layer), "out") in SUMS:
            out[f"{layer.name}.out"] = (layer, (_family(layer), "out"))
    out["loss"] = (None, ("loss", "value"))
    if layers:
        out[f"grad.{layers[-1].name}.out"] = (None, ("loss", "grad"))
    for k in range(len(layers) - 1, -1, -1):
        layer, family = layers[k], _family(layers[k])
        for role in ("weight", "bias"):
            if (family, role) in SUMS:
                out[f"grad.{layer.name}.{role}"] = (layer, (family, role))
        if (family, "input") in SUMS:
            name = f"grad.{layers[k - 1].name}.out" if k else "grad.input"
            out[name] = (layer, (family, "input"))
    for layer in layers if update else ():
        grads = getattr(layer, "cls", type(layer)).GRAD_SUFFIXES
        for part in ("weight", "bias"):
            if part in grads and ("update", part) in SUMS:
                out[f"update.{layer.name}.{part}"] = (layer, ("update", part))
    return out


def axes_of(key: tuple[str, str]) -> tuple[str, ...] | None:
    return SUM_AXES[key]


def _load_kinds() -> None:
    from . import kinds

    for module in pkgutil.iter_modules(kinds.__path__):
        importlib.import_module(f"{kinds.__name__}.{module.name}")


_load_kinds()
