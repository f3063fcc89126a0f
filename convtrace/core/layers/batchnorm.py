"""Batch normalisation: BatchNorm2d after a conv (per channel over n, h, w), BatchNorm1d after
an fc (per feature over n), in torch's train or eval mode.

Forward, per channel c, over the m values of the channel in the batch::

    mu = mean(x)             var = mean((x - mu)^2)     (train: the batch's; eval: running)
    x_hat = (x - mu) / sqrt(var + eps)          B = gamma * x_hat + beta

Backward (train), with dx_hat = dB * gamma, the three paths from x to the loss::

    dx = dx_hat / sqrt(var + eps)                       through x_hat
       + dvar * 2 (x - mu) / m                          through var
       + dmu / m                                        through mu
    dvar = sum dx_hat (x - mu) * -1/2 (var + eps)^(-3/2)
    dmu  = sum dx_hat * -1/sqrt(var + eps) + dvar * sum -2 (x - mu) / m     (the last sum is 0)

In eval mode mu and var are constants: dx = dB * gamma / sqrt(running_var + eps).
Train mode also updates the running statistics, as torch does (shown, not carried over)::

    running_mean' = (1 - momentum) running_mean + momentum mu
    running_var'  = (1 - momentum) running_var + momentum var * m / (m - 1)   (unbiased)
dgamma = sum dB * x_hat, dbeta = sum dB (sums over n, h, w).
"""

from __future__ import annotations

import math

import numpy as np

from ...i18n import N_, Msg, _
from ..errors import ParameterError, ShapeError
from ._checks import check_dout, float_array, require_forward
from .base import Layer, Record, Twin, TwinContext, image_axes
from .conv_stages import numbered

MODES = ("train", "eval")


def _positive_float(value, name: str, low: float, high: float | None = None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number > low and (high is None or number <= high)):
        bound = f"{low:g} < {name}" + (f" ≤ {high:g}" if high is not None else "")
        raise ParameterError(
            _("{name} must be a number with {bound}, got {value!r}").format(
                name=name, bound=bound, value=value
            )
        )
    return number


class BatchNorm(Layer):
    """torch's BatchNorm2d (x: (N, C, H, W)) or BatchNorm1d (x: (N, C)), chosen by the input.

    Parameters (C,): ``weight`` gamma, ``bias`` beta, ``running_mean``, ``running_var``
    (defaults 1, 0, 0, 1 as torch's). ``mode``: "train" normalises with the batch's
    statistics (biased variance), "eval" with the running ones.
    """

    kind = "bn"
    family = "bn"
    letter = "B"
    title = N_("Batch-normalised output")
    #: bn(eps=1e-5, momentum=0.1) in --net; the mode comes from --bn-mode
    SIGNATURE = (("eps", 1e-5), ("momentum", 0.1))
    SUFFIXES = ("mean", "var", "xhat", "weight", "bias", "out", "updated_mean", "updated_var")
    GRAD_SUFFIXES = ("weight", "bias")
    #: none is drawn from the seed (adding a bn leaves the other layers' draws as they were)
    DRAWN = ()
    DEFAULTS = {"weight": 1.0, "bias": 0.0, "running_mean": 0.0, "running_var": 1.0}

    def __init__(self, channels: int, eps=1e-5, momentum=0.1, mode: str = "train"):
        super().__init__()
        self.channels = int(channels)
        self.eps = _positive_float(eps, "eps", 0.0)
        self.momentum = _positive_float(momentum, "momentum", 0.0, 1.0)
        if mode not in MODES:
            raise ParameterError(
                _("--bn-mode must be train or eval; got {mode!r}").format(mode=mode)
            )
        self.mode = mode
        self.weight = self.bias = self.running_mean = self.running_var = None
        self.grad_weight = self.grad_bias = None
        self._cache = None

    @classmethod
    def build(cls, options: dict, in_shape):
        if len(in_shape) not in (2, 4):
            raise ShapeError(
                _("bn reads (N, C, H, W) or (N, C), got shape {shape}").format(
                    shape=tuple(in_shape)
                )
            )
        layer = cls(in_shape[1], **options)
        per_channel = in_shape[0] * math.prod(in_shape[2:])
        if layer.mode == "train" and per_channel == 1:
            raise ParameterError(
                _(
                    "torch refuses it: Expected more than 1 value per channel when training, "
                    "got input size {shape} (use --batch 2 or more, or --bn-mode eval)"
                ).format(shape=tuple(in_shape))
            )
        return layer

    # ------------------------------------------------------------------ parameters
    @property
    def params(self) -> dict[str, np.ndarray]:
        if self.weight is None:
            return {}
        return {"weight": self.weight, "bias": self.bias, "running_mean": self.running_mean,
                "running_var": self.running_var}  # fmt: skip

    def param_shapes(self, in_shape) -> dict[str, tuple[int, ...]]:
        return {part: (in_shape[1],) for part in self.DEFAULTS}

    def set_params(self, **arrays) -> None:
        for part, value in arrays.items():
            if part not in self.DEFAULTS:
                raise TypeError(f"bn has no parameter {part}")
            value = float_array(value, f"bn {part}", ndim=1)
            if value.shape != (self.channels,):
                raise ShapeError(
                    _("bn {part} must have shape ({channels},), got {shape}").format(
                        part=part, channels=self.channels, shape=value.shape
                    )
                )
            setattr(self, part, value)

    def _filled(self, dtype) -> dict[str, np.ndarray]:
        out = {}
        for part, default in self.DEFAULTS.items():
            value = getattr(self, part)
            if value is None:
                value = np.full(self.channels, default)
                setattr(self, part, value)
            out[part] = value.astype(dtype, copy=False)
        return out

    # ------------------------------------------------------------------ math
    def _axes(self, x) -> tuple[int, ...]:
        return (0,) if x.ndim == 2 else (0, 2, 3)

    def _channel(self, v: np.ndarray, ndim: int) -> np.ndarray:
        """(C,) -> broadcastable against (N, C) or (N, C, H, W)."""
        return v.reshape((1, -1) + (1,) * (ndim - 2))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C[, H, W]) -> B of the same shape, in x's dtype."""
        x = float_array(x, "bn input")
        if x.ndim not in (2, 4) or x.shape[1] != self.channels:
            raise ShapeError(
                _("bn expects (N, {channels}) or (N, {channels}, H, W), got {shape}").format(
                    channels=self.channels, shape=x.shape
                )
            )
        p = self._filled(x.dtype)
        axes = self._axes(x)
        if self.mode == "train":
            mean = x.mean(axis=axes)
            var = ((x - self._channel(mean, x.ndim)) ** 2).mean(axis=axes)
        else:
            mean, var = p["running_mean"], p["running_var"]
        inv = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        xhat = (x - self._channel(mean, x.ndim)) * self._channel(inv, x.ndim)
        out = self._channel(p["weight"], x.ndim) * xhat + self._channel(p["bias"], x.ndim)
        self._cache = (x, mean, var, inv, xhat, p["weight"])
        return out.astype(x.dtype, copy=False)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dB: like x -> dx; sets ``grad_weight`` dgamma (C,) and ``grad_bias`` dbeta (C,)."""
        require_forward(self._cache, "BatchNorm")
        x, _mean, _var, inv, xhat, gamma = self._cache
        dout = check_dout(dout, x.shape, "BatchNorm").astype(x.dtype, copy=False)
        axes, ch = self._axes(x), (lambda v: self._channel(v, x.ndim))
        self.grad_weight = (dout * xhat).sum(axis=axes)
        self.grad_bias = dout.sum(axis=axes)
        self.grads = {"weight": self.grad_weight, "bias": self.grad_bias}
        dxhat = dout * ch(gamma)
        if self.mode == "eval":
            return dxhat * ch(inv)
        m = x.dtype.type(x.size // self.channels)
        # the three paths summed in one line (explain writes them out one by one)
        return ch(inv) / m * (m * dxhat - ch(dxhat.sum(axis=axes))
                              - xhat * ch((dxhat * xhat).sum(axis=axes)))  # fmt: skip

    # ------------------------------------------------------------------ rounding bounds
    def term_sums(self, x: np.ndarray, dout) -> dict[str, np.ndarray]:
        """Σ|terms| of every stage this layer computes, per cell, for the agreement rule
        (|Δ| ≤ rtol·Σ|terms|): bn is not bilinear, so running it on absolute values bounds
        nothing. From the signed input x and output gradient dout (None: forward only), in
        float64: the sizes of the numbers each stage adds, plus what the rounding of σ² does
        through 1/√(σ² + ε) (the relative error of 1/√v is half that of v)."""
        x = np.asarray(x, np.float64)
        ch, axes = (lambda v: self._channel(v, x.ndim)), self._axes(x)
        m = x.size // self.channels
        gamma, beta = np.abs(self.weight.astype(np.float64)), np.abs(self.bias.astype(np.float64))
        if self.mode == "train":
            mu = x.mean(axis=axes)
            var = ((x - ch(mu)) ** 2).mean(axis=axes)
        else:
            mu, var = self.running_mean.astype(np.float64), self.running_var.astype(np.float64)
        inv = 1.0 / np.sqrt(var + self.eps)
        size = np.abs(x) + ch(np.abs(mu))  # x − μ, and torch's x·α − μ·α
        s_mean = np.abs(x).mean(axis=axes)
        s_var = (size**2).mean(axis=axes) if self.mode == "train" else np.abs(var)
        rel = s_var / (2 * (var + self.eps)) if self.mode == "train" else np.zeros_like(var)
        xhat = (x - ch(mu)) * ch(inv)
        s_xhat = size * ch(inv) + np.abs(xhat) * ch(rel)
        sums = {"mean": s_mean, "var": s_var, "xhat": s_xhat,
                "out": ch(gamma) * s_xhat + ch(beta)}  # fmt: skip
        if self.mode == "train":
            k = self.momentum
            sums["updated_mean"] = (1 - k) * np.abs(self.running_mean) + k * s_mean
            sums["updated_var"] = (1 - k) * np.abs(self.running_var) + k * s_var * m / (m - 1)
        if dout is None:
            return sums
        d = np.asarray(dout, np.float64)
        sums["grad.weight"] = (np.abs(d) * s_xhat).sum(axis=axes)
        sums["grad.bias"] = np.abs(d).sum(axis=axes)
        dxhat = np.abs(d) * ch(gamma)
        if self.mode == "eval":
            sums["grad.input"] = dxhat * ch(inv)
            return sums
        total = ch(dxhat.sum(axis=axes))
        paths = m * dxhat + total + s_xhat * ch((dxhat * np.abs(xhat)).sum(axis=axes))
        paths = paths + np.abs(xhat) * ch((dxhat * s_xhat).sum(axis=axes))
        sums["grad.input"] = ch(inv) / m * paths * (1 + ch(rel))
        return sums

    # ------------------------------------------------------------------ protocol
    def tensors(self, in_shape) -> list[tuple[str, tuple[int, ...]]]:
        return [(f"{self.name}'s x̂", tuple(in_shape)), (f"{self.name}'s output", tuple(in_shape))]

    @property
    def gamma_symbol(self) -> str:
        return numbered("γ", self.name)

    @property
    def beta_symbol(self) -> str:
        return numbered("β", self.name)

    def records(self, x: np.ndarray, out: np.ndarray) -> list[Record]:
        _x, mean, var, _inv, xhat, _gamma = self._cache
        X, B, g, b = self.in_symbol, self.symbol, self.gamma_symbol, self.beta_symbol
        over = "n" if x.ndim == 2 else "n,h,w"
        axes = image_axes(np.shape(out))
        if self.mode == "train":
            stats = (
                Record("mean", Msg("Batch mean μ"), mean, f"μ[c] = mean_{{{over}}} {X}[…,c,…]",
                       ("c",), symbol="μ"),
                Record("var", Msg("Batch variance σ²"), var,
                       f"σ²[c] = mean_{{{over}}} ({X} − μ[c])²  (biased, as torch normalises)",
                       ("c",), symbol="σ²"),
            )  # fmt: skip
        else:
            stats = (
                Record("mean", Msg("Running mean μ (eval)"), mean, "μ = running_mean", ("c",),
                       symbol="μ"),
                Record("var", Msg("Running variance σ² (eval)"), var, "σ² = running_var",
                       ("c",), symbol="σ²"),
            )  # fmt: skip
        recs = [
            *stats,
            Record("xhat", Msg("Normalised x̂"), xhat,
                   f"x̂ = ({X} − μ[c]) / √(σ²[c] + {self.eps:g})", axes, symbol="x̂"),
            Record("weight", Msg("Scale {g}", g=g), self.weight, f"{g}: (C,)", ("c",), symbol=g),
            Record("bias", Msg("Shift {b}", b=b), self.bias, f"{b}: (C,)", ("c",), symbol=b),
            self.out_record(out, f"{B} = {g}[c] · x̂ + {b}[c]  ({self.mode})"),
        ]  # fmt: skip
        if self.mode == "train":
            m, k = x.size // self.channels, self.momentum
            dtype = x.dtype.type
            new_mean = dtype(1 - k) * self.running_mean.astype(x.dtype) + dtype(k) * mean
            new_var = dtype(1 - k) * self.running_var.astype(x.dtype) + dtype(k) * var * dtype(
                m / (m - 1)
            )
            recs += [
                Record("updated_mean", Msg("Running mean after this step"), new_mean,
                       f"running_mean' = {1 - k:g}·running_mean + {k:g}·μ", ("c",)),
                Record("updated_var", Msg("Running variance after this step"), new_var,
                       f"running_var' = {1 - k:g}·running_var + {k:g}·σ²·{m}/{m - 1}  "
                       "(unbiased)", ("c",)),
            ]  # fmt: skip
        return recs

    def grad_records(self) -> list[Record]:
        B, g, b = self.symbol, self.gamma_symbol, self.beta_symbol
        return [
            Record("weight", f"∂L/∂{g}", self.grad_weight, f"∂L/∂{g}[c] = Σ ∂L/∂{B} · x̂",
                   ("c",)),
            Record("bias", f"∂L/∂{b}", self.grad_bias, f"∂L/∂{b}[c] = Σ ∂L/∂{B}", ("c",)),
        ]  # fmt: skip

    @property
    def input_grad_formula(self) -> str:
        x, B = self.in_symbol, self.symbol
        if self.mode == "eval":
            return f"∂L/∂{x} = ∂L/∂{B} · {self.gamma_symbol} / √(running_var + ε)"
        return Msg("∂L/∂{x} = through x̂ + through σ² + through μ (explain shows the three)",
                   x=x, B=B)  # fmt: skip

    def describe(self) -> dict:
        return {"kind": self.kind, "name": self.name, "eps": self.eps,
                "momentum": self.momentum, "mode": self.mode}  # fmt: skip

    def twin(self, ctx: TwinContext) -> Twin:
        return BatchNormTwin(self, ctx)


class BatchNormTwin(Twin):
    """torch's BatchNorm1d/2d module with our parameters, in our mode."""

    def __init__(self, layer: BatchNorm, ctx: TwinContext):
        super().__init__()
        self.layer, self.ctx = layer, ctx

    def forward(self, x):
        import torch
        from torch import nn

        layer, ctx = self.layer, self.ctx
        cls = nn.BatchNorm2d if x.dim() == 4 else nn.BatchNorm1d
        bn = cls(layer.channels, eps=layer.eps, momentum=layer.momentum).to(ctx.dtype)
        with torch.no_grad():
            for part in ("weight", "bias", "running_mean", "running_var"):
                getattr(bn, part).copy_(ctx.param(layer, part))
        bn.train(layer.mode == "train")
        self.bn = bn
        dims = [0] if x.dim() == 2 else [0, 2, 3]
        shape = [1, -1] + [1] * (x.dim() - 2)
        v = self.values
        with torch.no_grad():
            if layer.mode == "train":
                v["mean"] = x.mean(dim=dims)
                v["var"] = x.var(dim=dims, unbiased=False)
            else:
                v["mean"], v["var"] = bn.running_mean.clone(), bn.running_var.clone()
            v["xhat"] = (x - v["mean"].reshape(shape)) / torch.sqrt(
                v["var"].reshape(shape) + layer.eps
            )
        v["weight"], v["bias"] = bn.weight, bn.bias
        out = bn(x)
        if layer.mode == "train":  # torch's module updated its buffers in that call
            v["updated_mean"] = bn.running_mean.detach().clone()
            v["updated_var"] = bn.running_var.detach().clone()
        return out

    def gradients(self) -> dict:
        return {"weight": self.bn.weight.grad, "bias": self.bn.bias.grad}
