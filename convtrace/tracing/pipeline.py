"""The network, layer by layer, recording every tensor as a Stage: a loop over layers.

Forward: ``input``, then each layer's own records (``<layer>.weight``, ``<layer>.out``, …), then
``loss``. Backward in reverse: ``grad.<last>.out`` from the loss, then for each layer its
gradient records (``grad.<layer>.weight``, …) and the gradient of what it read
(``grad.<previous layer>.out``, or ``grad.input`` for the first). The layers say what they
show (see convtrace.core.layers.base); the pipeline knows no kind by name.
"""

from __future__ import annotations

import numpy as np

from ..core.layers.base import NCHW
from ..core.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from ..i18n import Msg
from ..scenario import Scenario
from .formulas import LOSS_FORMULAS, LOSS_GRADIENTS
from .network import build_network
from .stage import Stage, Trace

LOSSES = {"bce": BCEWithLogitsLoss, "mse": MSELoss, "ce": CrossEntropyLoss}


def saturation_note(z: np.ndarray, target: np.ndarray, loss: str) -> str | None:
    """One line when the loss saturates, so the loss and every gradient are too small to teach
    anything: BCE when σ(z) lies within the dtype's rounding of the target y in every cell; CE
    when softmax(z) lies within it of the one-hot target in every sample (the gradient is
    (softmax(z) − onehot(y)) / N).

    z: (N, out) logits; target: (N, out) for bce, class indices (N,) for ce. None when the loss
    is not saturated (or is mse, which has no flat tail).
    """
    if loss not in ("bce", "ce") or z.size == 0:
        return None
    eps = np.finfo(z.dtype).eps
    z64 = np.asarray(z, np.float64)
    if loss == "ce":
        return _softmax_saturation(z64, np.asarray(target), eps)
    sigma = np.exp(-np.logaddexp(0.0, -z64))  # σ(z) without overflow
    gap = np.abs(sigma - np.asarray(target, np.float64))
    if not np.all(gap < eps):
        return None
    worst = int(np.argmax(np.abs(z64)))
    zs, ys = z64.flat[worst], float(np.asarray(target).flat[worst])
    other = 0 if ys >= 0.5 else 1
    return Msg(
        "saturated: σ({zs:.3g}) ≈ y = {ys:g}, gradients ~{gap:.0e}: try smaller weights, "
        "--target {other}, --dtype float64",
        zs=zs,
        ys=ys,
        gap=float(gap.max()),
        other=other,
    )


def _softmax_saturation(z64: np.ndarray, target: np.ndarray, eps: float) -> str | None:
    """CE's note: every sample's softmax puts all but eps of its mass on its target class."""
    y = target.astype(np.int64).reshape(-1)
    if z64.ndim != 2 or y.shape != (z64.shape[0],):
        return None
    p = np.exp(z64 - np.logaddexp.reduce(z64, axis=1, keepdims=True))
    gap = np.abs(p - np.eye(z64.shape[1])[y])
    if not np.all(gap < eps):
        return None
    worst = int(np.argmin(p[np.arange(len(y)), y]))
    return Msg(
        "saturated: p(y={y}) ≈ 1, gradients ~{gap:.0e}: try smaller weights, "
        "--target {other}, --dtype float64",
        y=int(y[worst]),
        gap=float(gap.max()),
        other=int(np.argmin(p[worst])),  # the least likely class: the largest gradient
    )


def stage_names(layers) -> list[str]:
    """Every stage name a run of these layers (LayerSpecs or layers) can record, in order
    (which ones it has depends on its options), from each kind's SUFFIXES."""
    kinds = [getattr(layer, "cls", type(layer)) for layer in layers]
    names = ["input"]
    for layer, kind in zip(layers, kinds, strict=True):
        names += [f"{layer.name}.{suffix}" for suffix in kind.SUFFIXES]
    names.append("loss")
    for i in range(len(layers) - 1, -1, -1):
        layer, kind = layers[i], kinds[i]
        if i == len(layers) - 1:
            names.append(f"grad.{layer.name}.out")
        names += [f"grad.{layer.name}.{suffix}" for suffix in kind.GRAD_SUFFIXES]
        names.append(f"grad.{layers[i - 1].name}.out" if i else "grad.input")
    return names


def _stage(name: str, record, values=None) -> Stage:
    values = record.values if values is None else values
    axes = record.axes if record.axes is not None and len(record.axes) == np.ndim(values) else None
    return Stage(name, record.title, values, record.formula, alternatives=dict(record.alternatives),
                 meta=dict(record.meta), axes=axes, symbol=record.symbol)  # fmt: skip


# Overflow is detected and refused stage by stage (Trace.add), so numpy's warnings about it
# would only be noise on the terminal.
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def run_pipeline(scenario: Scenario, backward: bool = True, layers: list | None = None) -> Trace:
    """Run forward (and backward) and return the Trace of every stage, without reference."""
    s = scenario
    layers = layers if layers is not None else build_network(s)
    trace = Trace(scenario=s, dtype=s.dtype, layers=layers)
    x = s.x
    shape = "×".join(map(str, x.shape))
    trace.add(Stage("input", Msg("Input image x"), x, f"x: (N, C, H, W) = {shape}", axes=NCHW,
                    symbol="x"))  # fmt: skip
    a = x
    for layer in layers:
        out = layer.forward(a)
        for record in layer.records(a, out):
            trace.add(_stage(f"{layer.name}.{record.suffix}", record))
        a = layer.next_input(out)
    loss = LOSSES[s.loss]()
    value = loss.forward(a, s.target)
    trace.add(
        Stage(
            "loss",
            Msg("Loss ({loss})", loss=s.loss),
            np.asarray(value, dtype=a.dtype),
            LOSS_FORMULAS[s.loss],
            meta={"target": s.target, "saturated": saturation_note(a, s.target, s.loss)},
            axes=(),
            symbol="L",
        )
    )
    if backward:
        _backward(trace, layers, loss, s)
        saturated = trace["loss"].meta["saturated"]
        for stage in trace:  # said in every gradient's verdict, not only under the loss
            if stage.is_gradient and saturated:
                stage.meta["saturated"] = saturated
    return trace


def _backward(trace: Trace, layers: list, loss, s: Scenario) -> None:
    last = layers[-1]
    dout = loss.backward()
    name = f"grad.{last.name}.out"
    trace.add(Stage(name, f"∂L/∂{last.symbol}", dout, LOSS_GRADIENTS[s.loss].format(z=last.symbol),
                    axes=trace[f"{last.name}.out"].axes))  # fmt: skip
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        dx = layer.backward(dout)
        for record in layer.grad_records():
            trace.add(_stage(f"grad.{layer.name}.{record.suffix}", record))
        if i:
            before = layers[i - 1]
            name, title, of = (
                f"grad.{before.name}.out",
                f"∂L/∂{before.symbol}",
                f"{before.name}.out",
            )
        else:
            name, title, of = "grad.input", "∂L/∂x", "input"
        axes = trace[of].axes if of in trace else None
        trace.add(
            Stage(
                name,
                title,
                dx,
                layer.input_grad_formula,
                alternatives=dict(layer.input_grad_alternatives),
                axes=axes if axes is not None and len(axes) == np.ndim(dx) else None,
            )
        )
        dout = dx
