"""What a conv layer shows (its stages) and its torch twin; the math is in ``conv.py``.

Forward stages: ``weight`` W, ``bias`` b, ``padded`` (when padded), ``cols`` X_col and
``weight_rows`` W_row (im2col), ``out`` H. Backward: ``weight``, ``bias``, ``cols`` (im2col).
"""

from __future__ import annotations

import warnings

import numpy as np

from ...i18n import N_, Msg
from ..geometry import conv_output_shape, output_size_line, pair, resolve_padding
from ..im2col import pad_input
from .base import NCHW, REQUIRED, Record, Twin, TwinContext


def _times(factor: int, name: str) -> str:
    """``2i``, or just ``i`` for a unit factor (as a student writes the index)."""
    return name if factor == 1 else f"{factor}{name}"


def numbered(letter: str, name: str) -> str:
    """The letter of a numbered layer's tensor: ``W`` for ``conv``, ``W2`` for ``conv2``."""
    digits = name[len(name.rstrip("0123456789")) :]
    return letter + digits


class ConvStages:
    """Stages, shapes and torch twin of :class:`convtrace.core.layers.conv.Conv`."""

    kind = "conv"
    family = "conv"
    needs_image = True
    letter = "H"
    title = N_("Convolution output")
    #: conv(filters, kernel, stride=1, padding=valid, dilation=1) in --net
    SIGNATURE = (("filters", REQUIRED), ("kernel_size", REQUIRED), ("stride", 1),
                 ("padding", "valid"), ("dilation", 1))  # fmt: skip
    SPEC_NAMES = {"kernel_size": "kernel"}
    SUFFIXES = ("weight", "bias", "padded", "cols", "weight_rows", "out")
    GRAD_SUFFIXES = ("weight", "bias", "cols")

    # ------------------------------------------------------------------ parameters, shapes
    @property
    def params(self) -> dict[str, np.ndarray]:
        return {} if self.weight is None else {"weight": self.weight, "bias": self.bias}

    def param_shapes(self, in_shape) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.filters, in_shape[1], *self.kernel_size), "bias": (self.filters,)}

    def set_params(self, weight=None, bias=None) -> None:
        self.weight = None if weight is None else self._checked_weight(weight)
        self.bias = None if bias is None else self._checked_bias(bias)
        if self.alt is not None:
            self.alt.set_params(weight=weight, bias=bias)

    def resolved_pads(self, in_shape):
        return resolve_padding(
            self.padding, in_shape[2:], self.kernel_size, self.stride, self.dilation
        )

    def output_shape(self, in_shape) -> tuple[int, ...]:
        hw = conv_output_shape(
            in_shape[2:], self.kernel_size, self.stride, self.resolved_pads(in_shape),
            self.dilation,
        )  # fmt: skip
        return (in_shape[0], self.filters, *hw)

    def tensors(self, in_shape) -> list[tuple[str, tuple[int, ...]]]:
        n, c, h, w = in_shape
        (pt, pb), (pl, pr) = self.resolved_pads(in_shape)
        _n, f, ho, wo = self.output_shape(in_shape)
        kh, kw = self.kernel_size
        return [
            (f"{self.name}'s padded input", (n, c, h + pt + pb, w + pl + pr)),
            (f"{self.name}'s im2col matrix X_col (N·C·kh·kw·H_out·W_out)", (n, c, kh, kw, ho, wo)),
            (f"{self.name}'s output (N·F·H_out·W_out)", (n, f, ho, wo)),
            (f"{self.name}'s weight (F·C·kh·kw)", (f, c, kh, kw)),
        ]

    def loop_positions(self, in_shape) -> int:
        return 0 if self.method == "im2col" and self.alt is None else self._positions(in_shape)

    def _positions(self, in_shape) -> int:
        n, f, ho, wo = self.output_shape(in_shape)
        return n * f * ho * wo

    # ------------------------------------------------------------------ stages
    @property
    def weight_symbol(self) -> str:
        return numbered("W", self.name)

    @property
    def bias_symbol(self) -> str:
        return numbered("b", self.name)

    def out_note(self) -> str:
        """Said after the output's formula (a planted bug says which)."""
        return ""

    def out_formula(self, in_shape) -> str:
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        h, w = in_shape[2:]
        ph, pw = self.resolved_pads(in_shape)
        return (
            f"{self.symbol} = {self.weight_symbol}_row @ X_col + {self.bias_symbol};  "
            + output_size_line("H", h, ph, kh, sh, dh)
            + ";  "
            + output_size_line("W", w, pw, kw, sw, dw)
        )

    def records(self, x: np.ndarray, out: np.ndarray) -> list[Record]:
        W, b = self.weight_symbol, self.bias_symbol
        recs = [
            Record("weight", Msg("Conv filters {W}", W=W), self.weight, f"{W}: (F, C, kh, kw)",
                   ("f", "c", "u", "v"), symbol=W),
            Record("bias", Msg("Conv bias {b}", b=b), self.bias, f"{b}: (F,)", ("f",), symbol=b),
        ]  # fmt: skip
        pads = self.resolved_pads(x.shape)
        (pt, pb), (pl, pr) = pads
        if pt or pb or pl or pr:
            recs.append(
                Record(
                    "padded",
                    Msg("Zero-padded input"),
                    pad_input(x, pads),
                    Msg(
                        "pad top {pt}, bottom {pb}, left {pl}, right {pr}  ({padding})",
                        pt=pt,
                        pb=pb,
                        pl=pl,
                        pr=pr,
                        padding=repr(self.padding),
                    ),
                    NCHW,
                    symbol=f"{self.in_symbol}_pad",
                )
            )
        if self.method == "im2col":
            (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
            formula = (
                f"X_col[n, c·{kh * kw} + {_times(kw, 'u')} + v, {_times(out.shape[3], 'i')}"
                f" + j] = x_pad[n, c, {_times(sh, 'i')} + {_times(dh, 'u')}, "
                f"{_times(sw, 'j')} + {_times(dw, 'v')}]"
            )
            recs.append(Record("cols", Msg("im2col: receptive fields as columns X_col"), self.cols,
                               formula, ("n", "k", "l"), symbol="X_col"))  # fmt: skip
            recs.append(
                Record(
                    "weight_rows",
                    Msg("Filters as rows W_row"),
                    self.weight_rows,
                    f"W_row = {W}.reshape(F, C·kh·kw)",
                    ("f", "k"),
                    symbol="W_row",
                )
            )
        alternatives = {} if self.alt is None else {"loop": self.alt_out}
        recs.append(
            Record(
                "out",
                Msg("{title} {symbol}", _raw=True, title=Msg(self.title), symbol=self.symbol),
                out,
                self.out_formula(x.shape) + self.out_note(),
                ("n", "f", "i", "j"),
                alternatives=alternatives,
                symbol=self.symbol,
            )
        )
        return recs

    def grad_records(self) -> list[Record]:
        W, b, H = self.weight_symbol, self.bias_symbol, self.symbol
        alt = self.alt
        recs = [
            Record("weight", f"∂L/∂{W}", self.grads["weight"],
                   f"∂L/∂W_row = Σ_n ∂L/∂{H}[n] @ X_col[n]ᵀ", ("f", "c", "u", "v"),
                   alternatives={} if alt is None else {"loop": alt.grad_weight}),
            Record("bias", f"∂L/∂{b}", self.grads["bias"],
                   f"∂L/∂{b}[f] = Σ_{{n,i,j}} ∂L/∂{H}[n,f,i,j]", ("f",),
                   alternatives={} if alt is None else {"loop": alt.grad_bias}),
        ]  # fmt: skip
        if self.method == "im2col":
            recs.append(Record("cols", "∂L/∂X_col", self.grad_cols,
                               f"∂L/∂X_col = W_rowᵀ @ ∂L/∂{H}", ("n", "k", "l")))  # fmt: skip
        return recs

    @property
    def input_grad_formula(self) -> str:
        return Msg("∂L/∂{x} = col2im(∂L/∂X_col) (overlapping windows add)", x=self.in_symbol)

    @property
    def input_grad_alternatives(self) -> dict[str, np.ndarray]:
        return {} if self.alt is None else {"loop": self.alt_dx}

    def describe(self) -> dict:
        return {"kind": self.kind, "name": self.name, "filters": self.filters,
                "kernel": list(self.kernel_size), "stride": list(self.stride),
                "padding": self.padding if isinstance(self.padding, (str, int))
                else list(self.padding), "dilation": list(self.dilation)}  # fmt: skip

    # ------------------------------------------------------------------ torch
    def twin(self, ctx: TwinContext) -> Twin:
        return ConvTwin(self, ctx)


class ConvTwin(Twin):
    """torch's Conv2d with our weights; X_col by F.unfold, ∂L/∂X_col by autograd."""

    def __init__(self, layer, ctx: TwinContext):
        from torch import nn

        super().__init__()
        self.layer, self.ctx = layer, ctx
        f, c, kh, kw = layer.weight.shape
        self.padding_arg, self.explicit = None, None
        self.module_args = (c, f, (kh, kw), pair(layer.stride, "stride"))
        self.nn = nn

    def _torch_padding(self, pads):
        """torch's own padding argument when it has an equivalent, else an explicit F.pad."""
        layer = self.layer
        (pt, pb), (pl, pr) = pads
        same = isinstance(layer.padding, str) and layer.padding.strip().lower() == "same"
        if same and tuple(layer.stride) == (1, 1):
            return "same", None  # torch's own rule; checks ours independently
        if same or pt != pb or pl != pr:
            return 0, (pl, pr, pt, pb)  # torch refuses "same" for stride > 1: emulate it
        return (pt, pl), None

    def forward(self, x):
        import torch
        import torch.nn.functional as F

        layer, ctx = self.layer, self.ctx
        pads = layer.resolved_pads(tuple(x.shape))
        conv_padding, explicit = self._torch_padding(pads)
        c, f, kernel, stride = self.module_args
        conv = self.nn.Conv2d(c, f, kernel, stride, conv_padding, layer.dilation).to(ctx.dtype)
        with torch.no_grad():
            conv.weight.copy_(ctx.param(layer, "weight"))
            conv.bias.copy_(ctx.param(layer, "bias"))
        self.conv = conv
        (pt, pb), (pl, pr) = pads
        padded = F.pad(x, (pl, pr, pt, pb))
        v = self.values
        v["weight"], v["bias"] = conv.weight, conv.bias
        if pt or pb or pl or pr:
            v["padded"] = padded
        v["cols"] = F.unfold(padded, kernel, dilation=layer.dilation, stride=stride)
        v["weight_rows"] = conv.weight.reshape(f, -1)
        with warnings.catch_warnings():
            # torch warns that "same" with an even kernel pads asymmetrically: that is the point
            warnings.filterwarnings("ignore", message=".*padding='same'.*")
            self.out = conv(F.pad(x, explicit) if explicit else x)
        return self.out

    def gradients(self) -> dict:
        conv, h = self.conv, self.out
        f = conv.weight.shape[0]
        n = h.shape[0]
        # dL/dX_col by autograd: the same product rebuilt on a leaf copy of torch's X_col. (A
        # scalar backward of <W_row @ X_col, dL/dH>: autograd.grad with grad_outputs would
        # cost a 0.4 s import of torch.fx on first use.)
        cols = self.values["cols"].detach().requires_grad_(True)
        rows_out = conv.weight.detach().reshape(f, -1) @ cols
        (rows_out * h.grad.reshape(n, f, -1)).sum().backward()
        return {"weight": conv.weight.grad, "bias": conv.bias.grad, "cols": cols.grad}
