"""Pooling: max and average over kh×kw windows, forward and backward, without position loops.

For window (i, j) of channel c: ``P[n, c, i, j] = max_{u,v} x[n, c, i*s_h + u, j*s_w + v]`` (or the
mean). Max pooling's backward sends dP[n, c, i, j] to the window's argmax only (the first maximum
in row-major window order on ties, as PyTorch's CPU max_pool2d); average pooling spreads
dP / (kh*kw) over the window. When windows overlap (stride < kernel) the shares accumulate.
"""

from __future__ import annotations

import numpy as np

from ...i18n import N_, Msg
from ..geometry import conv_output_shape, pair
from ..im2col import add_windows, windows
from ._checks import check_dout, float_array, require_forward
from .base import REQUIRED, Layer, Record, Twin, TwinContext


class _Pool2D(Layer):
    family = "pool"
    needs_image = True
    letter = "P"
    #: maxpool(size, stride=size) / avgpool(size, stride=size) in --net
    SIGNATURE = (("kernel_size", REQUIRED), ("stride", None))
    SPEC_NAMES = {"kernel_size": "size"}
    SUFFIXES = ("cols", "argmax", "out")
    GRAD_SUFFIXES = ("cols",)
    op = "max"
    label = "Max"
    #: the pooled output's title, and its windows' (translated where shown)
    titles = (N_("Max-pooled"), N_("Max-pool windows as columns"))

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.in_stage = "input"  # the stage it reads, for the views' marks (set by the network)
        self.kernel_size = pair(kernel_size, "pool size")
        self.stride = self.kernel_size if stride is None else pair(stride, "pool stride")
        self.cols = self.grad_cols = None
        self._cache = None

    def _windows(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) -> windows (N, C, kh*kw, H_out, W_out); also sets ``cols``."""
        x = float_array(x, f"{type(self).__name__} input", ndim=4)
        out_hw = conv_output_shape(x.shape[2:], self.kernel_size, self.stride, what="pool window")
        win = windows(x, self.kernel_size, self.stride, (1, 1), out_hw)
        n, c, kh, kw = win.shape[:4]
        win = win.reshape(n, c, kh * kw, *out_hw)
        self.cols = win.reshape(n, c, kh * kw, -1)  # (N, C, kh*kw, L): one column per window
        return win

    def _checked_dout(self, dout: np.ndarray):
        """dout after forward, shaped like the output; returns (dout, x_shape, out_shape)."""
        require_forward(self._cache, type(self).__name__)
        x_shape, out_shape = self._cache
        return check_dout(dout, out_shape, type(self).__name__), x_shape, out_shape

    def _scatter(self, grad_windows: np.ndarray, x_shape) -> np.ndarray:
        """Window gradients (N, C, kh*kw, H_out, W_out) -> dx (N, C, H, W), overlaps adding up;
        also sets ``grad_cols`` (N, C, kh*kw, L), laid out like ``cols``."""
        n, c, _k, ho, wo = grad_windows.shape
        kh, kw = self.kernel_size
        self.grad_cols = grad_windows.reshape(n, c, kh * kw, ho * wo)
        return add_windows(
            grad_windows.reshape(n, c, kh, kw, ho, wo),
            x_shape[2:],
            self.kernel_size,
            self.stride,
            (1, 1),
        )

    # ------------------------------------------------------------------ protocol
    @property
    def title(self) -> str:
        return self.titles[0]

    def output_shape(self, in_shape) -> tuple[int, ...]:
        hw = conv_output_shape(in_shape[2:], self.kernel_size, self.stride, what="pool window")
        return (*in_shape[:2], *hw)

    def tensors(self, in_shape) -> list[tuple[str, tuple[int, ...]]]:
        n, c, ho, wo = self.output_shape(in_shape)
        return [(f"{self.name}'s windows", (n, c, *self.kernel_size, ho * wo)),
                (f"{self.name}'s output", (n, c, ho, wo))]  # fmt: skip

    def out_formula(self, in_hw) -> str:
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        ho, wo = (in_hw[0] - kh) // sh + 1, (in_hw[1] - kw) // sw + 1
        of = (
            N_("{P}[n,c,i,j] = max of the {kh}×{kw} window at ({sh}·i, {sw}·j)")
            if self.op == "max"
            else N_("{P}[n,c,i,j] = mean of the {kh}×{kw} window at ({sh}·i, {sw}·j)")
        )
        return Msg(of, P=self.symbol, kh=kh, kw=kw, sh=sh, sw=sw) + (
            ";  "
            f"H_out = ⌊({in_hw[0]} − {kh}) / {sh}⌋ + 1 = {ho}, "
            f"W_out = ⌊({in_hw[1]} − {kw}) / {sw}⌋ + 1 = {wo}"
        )

    def records(self, x: np.ndarray, out: np.ndarray) -> list[Record]:
        window = {"input": self.in_stage, "size": self.kernel_size, "stride": self.stride}
        recs = [
            Record("cols", Msg(self.titles[1]), self.cols,
                   Msg("windows: (N, C, kh·kw, L), one column per pooling window"),
                   ("n", "c", "k", "l"), meta=dict(window), symbol="windows"),
        ]  # fmt: skip
        argmax = getattr(self, "argmax", None) if self.op == "max" else None
        if argmax is not None:
            recs.append(
                Record(
                    "argmax",
                    Msg("Chosen cell of each window (row-major index u·kw + v)"),
                    argmax,
                    Msg("argmax over each window (first maximum on ties)"),
                    ("n", "c", "i", "j"),
                    meta=dict(window),
                    symbol="argmax",
                )
            )
        recs.append(self.out_record(out, self.out_formula(x.shape[2:]), meta={"argmax": argmax}))
        recs[-1].axes = ("n", "c", "i", "j")
        return recs

    def grad_records(self) -> list[Record]:
        how = (
            Msg("∂L/∂{P} goes to the window's argmax, 0 elsewhere", P=self.symbol)
            if self.op == "max"
            else Msg("∂L/∂{P} / (kh·kw) to every cell of the window", P=self.symbol)
        )
        return [Record("cols", Msg("∂L/∂(pool windows)"), self.grad_cols, how, ("n", "c", "k", "l"),
                       meta={"input": self.in_stage, "size": self.kernel_size,
                             "stride": self.stride})]  # fmt: skip

    @property
    def input_grad_formula(self) -> str:
        return Msg(
            "∂L/∂{x} = col2im of the window gradients ∂L/∂{P} (overlaps add)",
            x=self.in_symbol,
            P=self.symbol,
        )

    def decisions(self) -> np.ndarray | None:
        return getattr(self, "argmax", None)

    def describe(self) -> dict:
        return {"kind": self.kind, "name": self.name, "size": list(self.kernel_size),
                "stride": list(self.stride)}  # fmt: skip

    def twin(self, ctx: TwinContext) -> Twin:
        return PoolTwin(self, ctx)


class MaxPool2D(_Pool2D):
    """Max pooling. x: (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor((H - kh) / s_h) + 1.

    stride defaults to the kernel size. After ``backward``: ``grad_cols`` (N, C, kh*kw, L), dout
    placed on each window's chosen cell. After ``forward``: ``cols`` (N, C, kh*kw, L), the windows
    as columns, and ``argmax`` (N, C, H_out, W_out), the row-major index u*kw + v of each window's
    chosen cell.
    """

    kind = "maxpool"

    def forward(self, x: np.ndarray) -> np.ndarray:
        win = self._windows(x)
        self.argmax = np.argmax(win, axis=2)  # first maximum on ties, like torch's CPU kernel
        out = np.take_along_axis(win, self.argmax[:, :, None], axis=2)[:, :, 0]
        self._cache = (np.shape(x), out.shape)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C, H_out, W_out) -> dx: (N, C, H, W)."""
        dout, x_shape, out_shape = self._checked_dout(dout)
        n, c, ho, wo = out_shape
        grad_win = np.zeros((n, c, self.kernel_size[0] * self.kernel_size[1], ho, wo), dout.dtype)
        np.put_along_axis(grad_win, self.argmax[:, :, None], dout[:, :, None], axis=2)
        return self._scatter(grad_win, x_shape)


class AvgPool2D(_Pool2D):
    """Average pooling. x: (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor((H - kh) / s_h) + 1.

    stride defaults to the kernel size. After ``forward``: ``cols`` (N, C, kh*kw, L); after
    ``backward``: ``grad_cols`` (N, C, kh*kw, L), dout / (kh*kw) on every cell of its window.
    """

    kind = "avgpool"
    op = "mean"
    label = "Average"
    titles = (N_("Average-pooled"), N_("Average-pool windows as columns"))

    def forward(self, x: np.ndarray) -> np.ndarray:
        win = self._windows(x)
        out = win.mean(axis=2, dtype=win.dtype)
        self._cache = (np.shape(x), out.shape)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, C, H_out, W_out) -> dx: (N, C, H, W); each window cell gets dout/(kh*kw)."""
        dout, x_shape, out_shape = self._checked_dout(dout)
        size = self.kernel_size[0] * self.kernel_size[1]
        share = np.broadcast_to(
            (dout / dout.dtype.type(size))[:, :, None], (*out_shape[:2], size, *out_shape[2:])
        )
        return self._scatter(np.ascontiguousarray(share), x_shape)


class PoolTwin(Twin):
    """torch's max_pool2d / avg_pool2d; windows by F.unfold, max-pool near-ties settled our way."""

    def __init__(self, layer, ctx: TwinContext):
        super().__init__()
        self.layer, self.ctx = layer, ctx

    def forward(self, a):
        import torch.nn.functional as F

        layer = self.layer
        size, stride = layer.kernel_size, layer.stride
        n, c = a.shape[:2]
        windows = F.unfold(a, size, stride=stride)
        self.values["cols"] = windows.reshape(n, c, size[0] * size[1], -1)
        self.argmax = None
        if layer.op == "max":
            p, indices = F.max_pool2d(a, size, stride, return_indices=True)
            chosen = _window_local_argmax(indices, a.shape[3], size, stride)
            ours = getattr(layer, "argmax", None) if self.ctx.settle else None  # not under --bug
            p, chosen, ties = _settle_near_ties(p, chosen, self.values["cols"], ours, self.ctx.rtol)
            self.values["argmax"] = self.argmax = chosen
            self.notes.append(("argmax", "near_ties", ties, "window(s) hold two maxima equal up "
                               "to rounding: torch follows our choice"))  # fmt: skip
        else:
            p = F.avg_pool2d(a, size, stride)
        self.out = p
        return p

    def gradients(self) -> dict:
        import torch

        d_pool, size = self.out.grad, self.layer.kernel_size[0] * self.layer.kernel_size[1]
        n, c = d_pool.shape[:2]
        flat = d_pool.reshape(n, c, 1, -1)
        if self.argmax is None:
            return {"cols": flat.repeat(1, 1, size, 1) / size}
        grad = torch.zeros((n, c, size, flat.shape[-1]), dtype=d_pool.dtype)
        return {"cols": grad.scatter(2, self.argmax.reshape(n, c, 1, -1), flat)}


def _window_local_argmax(indices, width: int, size, stride):
    """torch's flat argmax (row·W + col in the pooled map) -> our window-local u·kw + v."""
    import torch

    ho, wo = indices.shape[2:]
    i = torch.arange(ho).view(1, 1, ho, 1)
    j = torch.arange(wo).view(1, 1, 1, wo)
    u = indices // width - i * stride[0]
    v = indices % width - j * stride[1]
    return u * size[1] + v


def _settle_near_ties(p, chosen, windows, our_argmax, rtol):
    """Follow our max-pool choice where torch's differs only by rounding.

    Two cells of a window can differ by a float rounding (our conv and torch's sum in different
    orders); then torch and we may pick different cells, and the gradient is routed to
    different places although both choices are right. Where torch's chosen value and the value
    of our choice agree within ``rtol``, torch's graph is rebuilt to take our cell (by
    ``gather``, so autograd still computes every gradient). A real disagreement is left as it
    is, to be reported. Returns (pooled, chosen, number of settled windows).
    """
    import torch

    if our_argmax is None or tuple(np.shape(our_argmax)) != tuple(chosen.shape):
        return p, chosen, 0
    ours = torch.as_tensor(np.asarray(our_argmax), dtype=torch.long)
    n, c = chosen.shape[:2]
    flat_windows = windows.reshape(n, c, windows.shape[2], -1)

    def value_of(idx):
        return flat_windows.gather(2, idx.reshape(n, c, 1, -1)).reshape(p.shape)

    with torch.no_grad():
        torch_value, our_value = value_of(chosen), value_of(ours)
        scale = torch.clamp(torch_value.abs(), min=1.0)
        tie = (chosen != ours) & ((torch_value - our_value).abs() <= rtol * scale)
    ties = int(tie.sum())
    if not ties:
        return p, chosen, 0
    settled = torch.where(tie, ours, chosen)
    return value_of(settled), settled, ties
