"""Stochastic gradient descent in numpy, with torch.optim.SGD's semantics (momentum, dampening
0, no Nesterov, weight decay added to the gradient).

One step, for a parameter W with gradient g = ∂L/∂W::

    d = g + λ·W                      (weight decay λ; d = g when λ = 0)
    B = d            on the first step with momentum μ > 0,
    B = μ·B + d      afterwards      (the momentum buffer)
    W ← W − η·B      (η the learning rate; B = d when μ = 0)

Arrays keep their dtype: a float32 network steps in float32, as torch does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..i18n import _
from .errors import ParameterError


@dataclass
class SGD:
    """The optimizer's settings and its momentum buffers ({parameter name: B})."""

    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0
    buffers: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        check_hyperparameters(self.lr, self.momentum, self.weight_decay)

    def direction(self, name: str, weight: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """What W moves against, η·(this): d, or the momentum buffer B (updated in place)."""
        dtype = np.asarray(weight).dtype
        d = np.asarray(grad, dtype)
        if self.weight_decay:
            d = d + dtype.type(self.weight_decay) * weight
        if not self.momentum:
            return d
        if name not in self.buffers:
            self.buffers[name] = np.array(d, dtype, copy=True)
        else:
            self.buffers[name] = dtype.type(self.momentum) * self.buffers[name] + d
        return self.buffers[name]

    def step(self, name: str, weight: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """W − η·B: the new value of parameter ``name`` (a new array; ``weight`` is kept)."""
        weight = np.asarray(weight)
        return weight - weight.dtype.type(self.lr) * self.direction(name, weight, grad)

    def step_layers(self, layers) -> dict[str, np.ndarray]:
        """One step for every parameter of ``layers`` (after their backward): the new values
        are set on the layers and returned as {``conv.weight``: W_new}."""
        new = {}
        for layer in layers:
            values = {
                part: self.step(f"{layer.name}.{part}", value, layer.grads[part])
                for part, value in layer.params.items()
            }
            if values:
                layer.set_params(**values)
            new.update({f"{layer.name}.{part}": value for part, value in values.items()})
        return new


def check_hyperparameters(lr: float, momentum: float, weight_decay: float) -> None:
    """Refuse what torch.optim.SGD refuses, and a learning rate of 0 (nothing would move)."""
    if not (np.isfinite(lr) and lr > 0):
        raise ParameterError(_("--lr must be a finite number > 0; got {value}").format(value=lr))
    for value, option in ((momentum, "--momentum"), (weight_decay, "--weight-decay")):
        if not (np.isfinite(value) and value >= 0):
            raise ParameterError(
                _("{option} must be a finite number ≥ 0; got {value}").format(
                    option=option, value=value
                )
            )
