"""Dense (fully connected): z = x @ W^T + b, the network's ``fc``; Linear is the course's API."""

from __future__ import annotations

import math

import numpy as np

from ...i18n import N_, Msg, _
from ..errors import ShapeError
from ..geometry import positive_int
from ._checks import check_dout, float_array, kaiming_uniform, require_forward
from .base import REQUIRED, Layer, Record, Twin, TwinContext
from .conv_stages import numbered


class Dense(Layer):
    """Fully connected layer: z = x @ W^T + b, with W: (out, in) as torch.

    Shapes: x: (N, in) -> z: (N, out). Backward, given dz: (N, out)::

        dW = dz^T @ x   (out, in)      db = sum_n dz[n]   (out,)      dx = dz @ W   (N, in)

    ``backward(dz) -> dx`` (the network's protocol); :class:`Linear` returns (dW, dx).
    Missing weight/bias use torch.nn.Linear's initialisation, U(-1/sqrt(in), +1/sqrt(in)),
    from ``numpy.random.default_rng(seed)``, at the first ``forward``.
    """

    kind = "fc"
    family = "fc"
    letter = "z"
    #: fc(out) in --net; ``in`` follows from the layer before
    SIGNATURE = (("out_features", REQUIRED),)
    SPEC_NAMES = {"out_features": "out"}
    SUFFIXES = ("weight", "bias", "out")
    GRAD_SUFFIXES = ("weight", "bias")

    def __init__(self, in_features: int, out_features: int, *, weight=None, bias=None, seed=None):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        self.seed = seed
        self.is_last = True  # the network's last fc gives the logits
        self.weight = self.bias = None
        self.set_params(weight=weight, bias=bias)
        self.grad_weight = self.grad_bias = None
        self._cache = None

    @classmethod
    def build(cls, options: dict, in_shape):
        return cls(math.prod(in_shape[1:]), **options)

    @property
    def title(self) -> str:
        return N_("Logits") if self.is_last else N_("Fully connected output")

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {} if self.weight is None else {"weight": self.weight, "bias": self.bias}

    def param_shapes(self, in_shape) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.out_features, self.in_features), "bias": (self.out_features,)}

    def set_params(self, weight=None, bias=None) -> None:
        if weight is not None:
            weight = float_array(weight, "Linear weight", ndim=2)
            if weight.shape != (self.out_features, self.in_features):
                raise ShapeError(
                    _(
                        "Linear weight must have shape (out, in) = ({out_features}, "
                        "{in_features}), got {shape}"
                    ).format(
                        out_features=self.out_features,
                        in_features=self.in_features,
                        shape=weight.shape,
                    )
                )
            self.weight = weight
        if bias is not None:
            bias = float_array(bias, "Linear bias")
            if bias.shape != (self.out_features,):
                raise ShapeError(
                    _("Linear bias must have shape ({out_features},), got {shape}").format(
                        out_features=self.out_features, shape=bias.shape
                    )
                )
            self.bias = bias

    def _init_parameters(self) -> None:
        rng = np.random.default_rng(self.seed)
        if self.weight is None:
            shape = (self.out_features, self.in_features)
            self.weight = kaiming_uniform(rng, shape, self.in_features)
        if self.bias is None:
            self.bias = kaiming_uniform(rng, (self.out_features,), self.in_features)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in) -> (N, out), in x's dtype."""
        x = float_array(x, "Linear input", ndim=2)
        if x.shape[1] != self.in_features:
            raise ShapeError(
                _("Linear expects {in_features} input features but got shape {shape}").format(
                    in_features=self.in_features, shape=x.shape
                )
            )
        self._init_parameters()
        w = self.weight.astype(x.dtype, copy=False)
        self._cache = (x, w)
        return x @ w.T + self.bias.astype(x.dtype, copy=False)

    def backward(self, dz: np.ndarray) -> np.ndarray:
        """dz: (N, out) -> dx: (N, in); sets ``grad_weight`` (out, in) and ``grad_bias`` (out,)."""
        require_forward(self._cache, "Linear")
        x, w = self._cache
        dz = check_dout(dz, (x.shape[0], self.out_features), "Linear").astype(x.dtype, copy=False)
        self.grad_weight = dz.T @ x
        self.grad_bias = dz.sum(axis=0)
        self.grads = {"weight": self.grad_weight, "bias": self.grad_bias}
        return dz @ w

    # ------------------------------------------------------------------ protocol
    def output_shape(self, in_shape) -> tuple[int, ...]:
        return (in_shape[0], self.out_features)

    def tensors(self, in_shape) -> list[tuple[str, tuple[int, ...]]]:
        return [(f"the {self.name} weight (out·in)", (self.out_features, self.in_features))]

    @property
    def weight_symbol(self) -> str:
        return numbered("W_fc", self.name)

    @property
    def bias_symbol(self) -> str:
        return numbered("b_fc", self.name)

    def records(self, x: np.ndarray, out: np.ndarray) -> list[Record]:
        W, b, z, f = self.weight_symbol, self.bias_symbol, self.symbol, self.in_symbol
        return [
            Record("weight", Msg("FC weights {W}", W=W), self.weight,
                   f"{W}: (out, in) = {self.out_features}×{self.in_features}", ("o", "k"),
                   symbol=W),
            Record("bias", Msg("FC bias {b}", b=b), self.bias, f"{b}: (out,)", ("o",), symbol=b),
            Record("out", Msg("{title} {z}", _raw=True, title=Msg(self.title), z=z), out,
                   f"{z} = {f} @ {W}ᵀ + {b}", ("n", "o"),
                   symbol=z),
        ]  # fmt: skip

    def grad_records(self) -> list[Record]:
        W, b, z, f = self.weight_symbol, self.bias_symbol, self.symbol, self.in_symbol
        return [
            Record("weight", f"∂L/∂{W}", self.grad_weight, f"∂L/∂{W} = (∂L/∂{z})ᵀ @ {f}",
                   ("o", "k")),
            Record("bias", f"∂L/∂{b}", self.grad_bias, f"∂L/∂{b} = Σ_n ∂L/∂{z}[n]", ("o",)),
        ]  # fmt: skip

    @property
    def input_grad_formula(self) -> str:
        return f"∂L/∂{self.in_symbol} = ∂L/∂{self.symbol} @ {self.weight_symbol}"

    def describe(self) -> dict:
        return {"kind": self.kind, "name": self.name, "out": self.out_features}

    def twin(self, ctx: TwinContext) -> Twin:
        return DenseTwin(self, ctx)


class Linear(Dense):
    """The course's Linear: :class:`Dense` with the exercise's ``backward -> (dW, dx)``;
    parameters are drawn at construction when not given."""

    def __init__(self, in_features: int, out_features: int, *, weight=None, bias=None, seed=None):
        super().__init__(in_features, out_features, weight=weight, bias=bias, seed=seed)
        self._init_parameters()

    def backward(self, dz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """dz: (N, out) -> (dW: (out, in), dx: (N, in)); sets ``grad_weight`` and ``grad_bias``."""
        dx = super().backward(dz)
        return self.grad_weight, dx


class DenseTwin(Twin):
    """torch's nn.Linear with our weights."""

    def __init__(self, layer: Dense, ctx: TwinContext):
        super().__init__()
        self.layer, self.ctx = layer, ctx

    def forward(self, x):
        import torch
        from torch import nn

        layer, ctx = self.layer, self.ctx
        fc = nn.Linear(layer.in_features, layer.out_features).to(ctx.dtype)
        with torch.no_grad():
            fc.weight.copy_(ctx.param(layer, "weight"))
            fc.bias.copy_(ctx.param(layer, "bias"))
        self.fc = fc
        self.values["weight"], self.values["bias"] = fc.weight, fc.bias
        return fc(x)

    def gradients(self) -> dict:
        return {"weight": self.fc.weight.grad, "bias": self.fc.bias.grad}
