"""Flatten: every axis but the batch into one, row-major as torch (no numbers change)."""

from __future__ import annotations

import math

import numpy as np

from ...i18n import N_, Msg, _
from ..errors import ShapeError
from ._checks import check_dout, float_array, require_forward
from .base import Layer, Record, Twin, TwinContext


class Flatten(Layer):
    """Flatten every axis but the batch: x: (N, C, H, W) -> (N, C*H*W), row-major as torch."""

    kind = "flatten"
    family = "flatten"
    letter = "f"
    title = N_("Flattened features")
    SIGNATURE = ()

    def __init__(self):
        super().__init__()
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "Flatten input")
        if x.ndim < 2:
            raise ShapeError(
                _("Flatten input needs a batch axis, got shape {shape}").format(shape=x.shape)
            )
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C*H*W) -> dx: (N, C, H, W): the same numbers, folded back."""
        require_forward(self._cache, "Flatten")
        x_shape = self._cache
        dout = check_dout(dout, (x_shape[0], int(np.prod(x_shape[1:]))), "Flatten")
        return dout.reshape(x_shape)

    def output_shape(self, in_shape) -> tuple[int, ...]:
        return (in_shape[0], math.prod(in_shape[1:]))

    def tensors(self, in_shape) -> list:
        return []  # a view of its input

    def records(self, x: np.ndarray, out: np.ndarray) -> list[Record]:
        rec = self.out_record(out, f"{self.symbol} = {self.in_symbol}.reshape(N, C·H·W)")
        rec.title = Msg(self.title)
        return [rec]

    @property
    def input_grad_formula(self) -> str:
        return f"∂L/∂{self.in_symbol} = (∂L/∂{self.symbol}).reshape({self.in_symbol}.shape)"

    def twin(self, ctx: TwinContext) -> Twin:
        return FlattenTwin()


class FlattenTwin(Twin):
    def forward(self, x):
        import torch

        return torch.flatten(x, 1)
