"""ReLU: max(x, 0), and its gradient, which passes where x > 0 (not at 0, as torch)."""

from __future__ import annotations

import numpy as np

from ...i18n import N_
from ._checks import check_dout, float_array, require_forward
from .base import Layer, Record, Twin, TwinContext, image_axes


class ReLU(Layer):
    """ReLU(x) = max(x, 0); its gradient passes where x > 0 and is 0 elsewhere (also at 0).

    x: any shape, e.g. (N, C, H, W) or (N, features); the output has the same shape.
    """

    kind = "relu"
    family = "act"
    letter = "A"
    title = N_("ReLU activation")
    SIGNATURE = ()

    def __init__(self):
        super().__init__()
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = float_array(x, "ReLU input")
        self._cache = x > 0
        return np.where(self._cache, x, x.dtype.type(0))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: any shape (as the input) -> dx = dout * [x > 0]."""
        require_forward(self._cache, "ReLU")
        dout = check_dout(dout, self._cache.shape, "ReLU")
        return np.where(self._cache, dout, dout.dtype.type(0))

    def decisions(self) -> np.ndarray | None:
        return self._cache

    def records(self, x: np.ndarray, out: np.ndarray) -> list[Record]:
        rec = self.out_record(out, f"{self.symbol} = max({self.in_symbol}, 0)")
        if len(np.shape(out)) == 4 and self.in_symbol.startswith("H"):
            rec.axes = ("n", "f", "i", "j")
        else:
            rec.axes = image_axes(np.shape(out))
        return [rec]

    @property
    def input_grad_formula(self) -> str:
        return f"∂L/∂{self.symbol} · [{self.in_symbol} > 0]"

    def twin(self, ctx: TwinContext) -> Twin:
        return ReLUTwin(self, ctx)


class ReLUTwin(Twin):
    """torch.relu, following our on/off decision where the input is within rounding of 0 and
    the signs of ours and torch's differ (a gradient passes or not, though both values are
    right)."""

    def __init__(self, layer: ReLU, ctx: TwinContext):
        super().__init__()
        self.layer, self.ctx = layer, ctx

    def forward(self, h):
        import torch

        our_on = self.layer._cache if self.ctx.settle else None
        if our_on is None or tuple(our_on.shape) != tuple(h.shape):
            return torch.relu(h)
        torch_on = h > 0
        with torch.no_grad():
            ours = torch.as_tensor(np.asarray(our_on))
            scale = torch.clamp(h.abs().amax(), min=1.0)
            settle = (torch_on != ours) & (h.abs() <= self.ctx.rtol * scale)
        on = torch.where(settle, ours, torch_on)
        self.notes.append(("out", "near_zero", int(settle.sum()), "value(s) within rounding "
                           "of 0: torch follows our on/off decision"))  # fmt: skip
        return torch.where(on, h, torch.zeros_like(h))
