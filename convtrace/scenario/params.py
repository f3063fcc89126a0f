"""Every layer's weights: supplied (by layer name, or a torch ``nn.Sequential`` state dict by
position), drawn from the seeded generator, or the classroom defaults; checked against the
planned shapes.

The seeded generator draws integers from torch's generator in a fixed order, so a supplied
array never shifts the others::

    x                        randint(1, 10, (N, C, H, W))   the input, integers 1..9
    each conv / hidden fc W  randint(-1, 2, shape)          in network order, integers -1..1
    target                   randint(0, classes, (N,))      only for --loss ce
    the last fc's W          randint(-1, 2, (classes, in))  only for --loss ce

Biases are ones; the last fc's W is all ones for bce and mse, and the target zeros (y = 0).
(With all-ones FC weights every class would get the same logit and cross-entropy's gradient
would be exactly zero, so ce draws its last FC weights from the generator.)
"""

from __future__ import annotations

import re

import numpy as np

from ..core.errors import InputFileError, ShapeError
from ..i18n import _
from .validation import array_name, check_finite, check_numeric, in_dtype

_POSITIONAL = re.compile(r"^(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)$")
#: a BatchNorm's step counter in a torch state dict: only torch's momentum=None reads it
_IGNORED = "num_batches_tracked"


def parametrised(planned) -> list:
    """The planned layers that have weights, in network order."""
    return [p for p in planned if p.layer.param_shapes(p.in_shape)]


def by_position(supplied: dict, sources: dict, planned) -> tuple[dict, dict]:
    """Keys of a torch ``nn.Sequential`` state dict (``0.weight``, ``3.bias``) -> our layer
    names, the k-th numbered module to the k-th layer with weights. Returns (arrays, sources)."""
    numbered = {k: v for k, v in supplied.items() if _POSITIONAL.match(k)}
    if not numbered:
        return supplied, sources
    named = [k for k in supplied if k not in numbered]
    if named:
        raise InputFileError(
            _(
                "--weights mixes layer names ({named}) with a state dict's "
                "numbered keys ({numbered}); use one or the other"
            ).format(named=", ".join(named[:3]), numbered=", ".join(list(numbered)[:3]))
        )
    indices = sorted({int(_POSITIONAL.match(k).group(1)) for k in numbered})
    layers = parametrised(planned)
    if len(indices) != len(layers):
        raise InputFileError(
            _(
                "--weights holds {indices} numbered module(s) with weights "
                "({str}) but the network has {layers} layer(s) with weights "
                "({join}); a state dict is mapped by position, so the two must "
                "line up"
            ).format(
                indices=len(indices),
                str=", ".join(map(str, indices)),
                layers=len(layers),
                join=", ".join(p.spec.name for p in layers),
            )
        )
    names = {index: p.spec.name for index, p in zip(indices, layers, strict=True)}
    arrays, new_sources = {}, dict(sources)
    for key, value in numbered.items():
        index, part = _POSITIONAL.match(key).groups()
        if part == _IGNORED:
            continue
        ours = f"{names[int(index)]}.{part}"
        arrays[ours] = value
        new_sources[ours] = f"{sources.get(key, '--weights')} (key {key} → {ours})"
        new_sources.pop(key, None)
    return arrays, new_sources


def check_names(supplied: dict, planned, sources: dict) -> None:
    """Every supplied key names a parameter of this network."""
    known = {f"{p.spec.name}.{part}" for p in parametrised(planned)
             for part in p.layer.param_shapes(p.in_shape)}  # fmt: skip
    unknown = sorted(set(supplied) - known)
    if unknown:
        where = ", ".join(sources.get(key, key) for key in unknown)
        raise InputFileError(
            _(
                "--weights {where}: this network has no such parameter; its parameters are {known}"
            ).format(where=where, known=", ".join(sorted(known)))
        )


def drawn(layer) -> tuple[str, ...]:
    """The parameters the seeded generator draws for ``layer`` (a weight, unless its kind says
    otherwise: a BatchNorm's γ, β and running statistics start at torch's defaults)."""
    return layer.DRAWN


def default_value(layer, part: str, shape) -> np.ndarray:
    """A parameter neither supplied nor drawn: the kind's default (``DEFAULTS``), else ones."""
    return np.full(shape, layer.DEFAULTS.get(part, 1.0))


def generate(seed: int, x_shape, planned, loss: str, classes: int, dtype) -> dict:
    """The seeded draws, in the documented order (see the module docstring)."""
    import torch  # the classroom example is defined by torch's generator

    gen = torch.Generator().manual_seed(seed)
    out = {"input": torch.randint(1, 10, tuple(x_shape), generator=gen).numpy().astype(dtype)}
    layers = [p for p in parametrised(planned) if "weight" in drawn(p.layer)]
    for p in layers[:-1] if layers and layers[-1].spec.kind == "fc" else layers:
        shape = p.layer.param_shapes(p.in_shape)["weight"]
        draw = torch.randint(-1, 2, shape, generator=gen)
        out[f"{p.spec.name}.weight"] = draw.numpy().astype(dtype)
    if loss == "ce":
        batch = x_shape[0]
        out["target"] = torch.randint(0, classes, (batch,), generator=gen).numpy()
        last = layers[-1]
        shape = last.layer.param_shapes(last.in_shape)["weight"]
        out[f"{last.spec.name}.weight"] = torch.randint(-1, 2, shape, generator=gen).numpy()
        out[f"{last.spec.name}.weight"] = out[f"{last.spec.name}.weight"].astype(dtype)
    return out


def check_param(array, key: str, expected: tuple, layer_text: str, sources: dict, dtype):
    """One supplied parameter: real, finite numbers of the planned shape, in ``dtype``."""
    name = array_name(sources, key, key)
    array = check_numeric(array, name)
    check_finite(array, name)
    if tuple(array.shape) != tuple(expected):
        layout = (
            "(F, C, kh, kw)" if len(expected) == 4 else "(out, in)" if len(expected) == 2 else ""
        )
        raise ShapeError(
            _("{name} has shape {shape} but {layer_text} needs {expected}{value}").format(
                name=name,
                shape=tuple(array.shape),
                layer_text=layer_text,
                expected=tuple(expected),
                value=" = " + layout if layout else "",
            )
        )
    return in_dtype(array, dtype, name)


def resolve(supplied: dict, generated: dict, planned, loss: str, dtype, sources: dict,
            skip=()) -> dict:  # fmt: skip
    """{``<layer>.weight``/``.bias``: array} for every layer with weights. ``skip``: keys the
    caller judges itself (the last fc's, which ``check_head`` judges with the loss)."""
    params = {}
    layers = parametrised(planned)
    for p in layers:
        shapes = p.layer.param_shapes(p.in_shape)
        for part, shape in shapes.items():
            key = f"{p.spec.name}.{part}"
            if key in supplied:
                value = supplied[key]
            elif key in generated:
                value = generated[key]
            else:  # biases, and the last fc's weight for bce/mse: ones (or the kind's own)
                value = default_value(p.layer, part, shape)
            if key in skip:
                params[key] = value
                continue
            text = f"{p.spec.name} ({p.spec.text()})"
            params[key] = check_param(value, key, shape, text, sources, dtype)
    return params
