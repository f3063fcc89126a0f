"""What a transposed convolution shows (its stages, its size arithmetic) and its torch twin;
the math is in ``conv_transpose.py``.

Forward stages: ``weight`` Wt (C, F, kh, kw), ``bias`` bt, ``cols`` T_col (im2col: each input
pixel's copy of the kernel, one column per pixel), ``out`` T. Backward: ``weight``, ``bias``.
"""

from __future__ import annotations

import numpy as np

from ...i18n import N_, Msg, _
from ..errors import ParameterError
from .base import REQUIRED, Record, Twin, TwinContext


def transposed_size_line(axis: str, size, k, s, p, op, d) -> str:
    """``H_out = (4 − 1)·2 − 2·0 + 1·(3 − 1) + 1 + 1 = 10`` for one axis."""
    out = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
    return f"{axis}_out = ({size} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1 = {out}"


class ConvTransposeStages:
    """Stages, shapes and torch twin of the transposed convolution (``conv_transpose.py``)."""

    kind = "convT"
    family = "convt"
    needs_image = True
    letter = "T"
    title = N_("Transposed convolution output")
    #: convT(filters, kernel, stride=1, padding=0, output_padding=0, dilation=1) in --net
    SIGNATURE = (("filters", REQUIRED), ("kernel_size", REQUIRED), ("stride", 1),
                 ("padding", 0), ("output_padding", 0), ("dilation", 1))  # fmt: skip
    SPEC_NAMES = {"kernel_size": "kernel"}
    SUFFIXES = ("weight", "bias", "cols", "out")
    GRAD_SUFFIXES = ("weight", "bias")

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {} if self.weight is None else {"weight": self.weight, "bias": self.bias}

    def param_shapes(self, in_shape) -> dict[str, tuple[int, ...]]:
        return {"weight": (in_shape[1], self.filters, *self.kernel_size), "bias": (self.filters,)}

    def output_shape(self, in_shape) -> tuple[int, ...]:
        from .conv_transpose import transposed_size

        hw = tuple(
            transposed_size(in_shape[2 + a], self.kernel_size[a], self.stride[a],
                            self.padding[a], self.output_padding[a], self.dilation[a])
            for a in range(2)
        )  # fmt: skip
        if min(hw) < 1:
            raise ParameterError(
                _(
                    "convT gives an output of {h}×{w}: the padding {padding} removes more "
                    "than the kernel copies cover ({line})"
                ).format(h=hw[0], w=hw[1], padding=self.padding[0], line=self.size_line(in_shape))
            )
        return (in_shape[0], self.filters, *hw)

    def size_line(self, in_shape) -> str:
        return ";  ".join(
            transposed_size_line(axis, in_shape[2 + a], self.kernel_size[a], self.stride[a],
                                 self.padding[a], self.output_padding[a], self.dilation[a])
            for a, axis in enumerate("HW")
        )  # fmt: skip

    def tensors(self, in_shape) -> list[tuple[str, tuple[int, ...]]]:
        n, c, h, w = in_shape
        f, (kh, kw) = self.filters, self.kernel_size
        return [
            (f"{self.name}'s kernel copies T_col (N·F·kh·kw·H·W)", (n, f, kh, kw, h, w)),
            (f"{self.name}'s output", self.output_shape(in_shape)),
            (f"{self.name}'s weight (C·F·kh·kw)", (c, f, kh, kw)),
        ]

    def loop_positions(self, in_shape) -> int:
        n, c, h, w = in_shape
        return 0 if self.method == "im2col" and self.alt is None else n * c * h * w

    def records(self, x: np.ndarray, out: np.ndarray) -> list[Record]:
        W, b, T, X = self.weight_symbol, self.bias_symbol, self.symbol, self.in_symbol
        (sh, sw), (ph, pw) = self.stride, self.padding
        recs = [
            Record("weight", Msg("Transposed-conv filters {W}", W=W), self.weight,
                   f"{W}: (C, F, kh, kw)  (input channels first, as torch)",
                   ("c", "f", "u", "v"), symbol=W),
            Record("bias", Msg("Transposed-conv bias {b}", b=b), self.bias, f"{b}: (F,)",
                   ("f",), symbol=b),
        ]  # fmt: skip
        if self.method == "im2col":
            recs.append(Record(
                "cols", Msg("Kernel copies T_col: one column per input pixel"), self.cols,
                f"T_col[n, f·kh·kw + u·kw + v, i·W + j] = {X}[n, c, i, j] · {W}[c, f, u, v] "
                "(summed over c)", ("n", "k", "l"), symbol="T_col",
            ))  # fmt: skip
        scatter = (
            f"{T}[n, f, {sh}i + u − {ph}, {sw}j + v − {pw}] += {X}[n, c, i, j] · {W}[c, f, u, v]"
            f" + {b}[f];  "
        )
        recs.append(Record(
            "out", Msg("{title} {symbol}", _raw=True, title=Msg(self.title), symbol=T), out,
            scatter + self.size_line(x.shape), ("n", "f", "i", "j"),
            alternatives={} if self.alt is None else {"loop": self.alt_out}, symbol=T,
        ))  # fmt: skip
        return recs

    def grad_records(self) -> list[Record]:
        W, b, T, X = self.weight_symbol, self.bias_symbol, self.symbol, self.in_symbol
        alt = self.alt
        return [
            Record("weight", f"∂L/∂{W}", self.grad_weight,
                   f"∂L/∂{W}[c,f,u,v] = Σ_{{n,i,j}} {X}[n,c,i,j] · ∂L/∂{T}[n,f,i·s+u,j·s+v]",
                   ("c", "f", "u", "v"),
                   alternatives={} if alt is None else {"loop": alt.grad_weight}),
            Record("bias", f"∂L/∂{b}", self.grad_bias,
                   f"∂L/∂{b}[f] = Σ_{{n,i,j}} ∂L/∂{T}[n,f,i,j]", ("f",),
                   alternatives={} if alt is None else {"loop": alt.grad_bias}),
        ]  # fmt: skip

    @property
    def input_grad_formula(self) -> str:
        return Msg(
            "∂L/∂{x} = conv(∂L/∂{T}, {W}) with stride {s}: each input pixel gathers what its "
            "kernel copy touched",
            x=self.in_symbol, T=self.symbol, W=self.weight_symbol, s=self.stride[0],
        )  # fmt: skip

    @property
    def input_grad_alternatives(self) -> dict[str, np.ndarray]:
        return {} if self.alt is None else {"loop": self.alt_dx}

    def describe(self) -> dict:
        return {"kind": self.kind, "name": self.name, "filters": self.filters,
                "kernel": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "output_padding": list(self.output_padding),
                "dilation": list(self.dilation)}  # fmt: skip

    def twin(self, ctx: TwinContext) -> Twin:
        return ConvTransposeTwin(self, ctx)


class ConvTransposeTwin(Twin):
    """torch's nn.ConvTranspose2d with our weights; T_col as the same product in torch."""

    def __init__(self, layer, ctx: TwinContext):
        super().__init__()
        self.layer, self.ctx = layer, ctx

    def forward(self, x):
        import torch
        from torch import nn

        layer, ctx = self.layer, self.ctx
        c = x.shape[1]
        conv = nn.ConvTranspose2d(c, layer.filters, layer.kernel_size, layer.stride,
                                  layer.padding, layer.output_padding,
                                  dilation=layer.dilation).to(ctx.dtype)  # fmt: skip
        with torch.no_grad():
            conv.weight.copy_(ctx.param(layer, "weight"))
            conv.bias.copy_(ctx.param(layer, "bias"))
        self.conv = conv
        v = self.values
        v["weight"], v["bias"] = conv.weight, conv.bias
        if layer.method == "im2col":
            with torch.no_grad():
                n = x.shape[0]
                v["cols"] = torch.einsum("ck,ncl->nkl", conv.weight.reshape(c, -1),
                                         x.reshape(n, c, -1))  # fmt: skip
        return conv(x)

    def gradients(self) -> dict:
        return {"weight": self.conv.weight.grad, "bias": self.conv.bias.grad}
