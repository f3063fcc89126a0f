"""ConvTranspose: a transposed convolution (torch's ConvTranspose2d), two ways.

The input is the small map, the output the big one. Every input pixel adds a weighted copy of
the kernel to the output (the scatter), for sample n, input channel c, pixel (i, j)::

    T[n, f, i*s_h + u*d_h - p_h, j*s_w + v*d_w - p_w] += x[n, c, i, j] * Wt[c, f, u, v]

plus the bias b[f] everywhere; copies that land outside the output (in the padding) are
dropped. Output size ``H_out = (H - 1)*s_h - 2*p_h + d_h*(kh - 1) + output_padding_h + 1``.

``method="loop"`` writes the scatter as loops; ``method="im2col"`` as one matrix product and a
col2im: ``T_col = Wt_rowᵀ @ X`` (one column of kernel copies per input pixel) folded by
``col2im`` — the same fold a convolution's backward uses, which is why a convolution's input
gradient *is* a transposed convolution of ∂L/∂H (see ``convtrace.tracing.equivalence``).

Backward, given dT = ∂L/∂T: ``dx`` is a plain convolution of dT with the same weights
(``dX = Wt_row @ im2col(dT)``), ``dWt = X @ im2col(dT)ᵀ``, ``db[f] = Σ dT[n, f, …]``.
"""

from __future__ import annotations

import numpy as np

from ...i18n import _
from ..errors import ParameterError, ShapeError
from ..geometry import pair, positive_int
from ..im2col import col2im_matrix, im2col_matrix, unfold_layout
from ._checks import check_dout, float_array, kaiming_uniform, require_forward
from .base import Layer
from .conv_stages import numbered
from .conv_transpose_stages import ConvTransposeStages

METHODS = ("im2col", "loop")


def transposed_size(size: int, kernel: int, stride: int, pad: int, output_padding: int,
                    dilation: int = 1) -> int:  # fmt: skip
    """One axis of a transposed convolution's output: (H−1)·s − 2p + d·(k−1) + op + 1."""
    return (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1


def scatter_loop(x, w, stride, pads, dilation, out_hw) -> np.ndarray:
    """The scatter as loops. x: (N, C, H, W), w: (C, F, kh, kw) -> (N, F, H_out, W_out)
    without bias; ``pads`` ((top, bottom), (left, right)) crop the full map's border."""
    n_count, c_count, h, wd = x.shape
    f_count, kh, kw = w.shape[1:]
    (sh, sw), (dh, dw) = stride, dilation
    (pt, _pb), (pl, _pr) = pads
    full_h = max((h - 1) * sh + dh * (kh - 1) + 1, pt + out_hw[0])
    full_w = max((wd - 1) * sw + dw * (kw - 1) + 1, pl + out_hw[1])
    full = np.zeros((n_count, f_count, full_h, full_w), dtype=x.dtype)
    for n in range(n_count):
        for c in range(c_count):
            for i in range(h):
                for j in range(wd):
                    # the input pixel's copy of the kernel, added where it lands
                    rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
                    full[n, :, rows, cols] += x[n, c, i, j] * w[c]
    return full[:, :, pt : pt + out_hw[0], pl : pl + out_hw[1]].copy()


def scatter_gemm(x, w, stride, pads, dilation, out_hw) -> tuple[np.ndarray, np.ndarray]:
    """The scatter as one GEMM and a col2im: (T without bias, T_col: (F*kh*kw, N*H*W))."""
    n_count, c_count, h, wd = x.shape
    f_count, kh, kw = w.shape[1:]
    x_rows = x.transpose(1, 0, 2, 3).reshape(c_count, -1)  # (C, N*H*W), columns (n, i, j)
    t_col = w.reshape(c_count, -1).T @ x_rows  # (F*kh*kw, N*H*W)
    out = col2im_matrix(t_col, (n_count, f_count, *out_hw), (kh, kw), stride, pads, dilation,
                        (h, wd))  # fmt: skip
    return out, t_col


class ConvTranspose(ConvTransposeStages, Layer):
    """2-D transposed convolution with numpy forward and backward, torch's ConvTranspose2d.

    Args: filters F (output channels), kernel_size, stride, padding (int or pair, removed from
    each side of the output), output_padding (added at the bottom/right, less than the stride
    or the dilation), dilation; weight (C, F, kh, kw) and bias (F,), drawn at the first forward
    when missing (torch's init: U(±1/sqrt(F*kh*kw))); method "im2col", "loop" or "both".

    Shapes: x: (N, C, H, W) -> T: (N, F, H_out, W_out), see :func:`transposed_size`.
    """

    def __init__(self, filters: int, kernel_size, stride=1, padding=0, output_padding=0,
                 dilation=1, *, weight=None, bias=None, method: str = "im2col",
                 seed=None):  # fmt: skip
        Layer.__init__(self)
        self.filters = positive_int(filters, "number of filters")
        self.kernel_size = pair(kernel_size, "kernel size")
        self.stride = pair(stride, "stride")
        self.dilation = pair(dilation, "dilation")
        self.padding = pair(padding, "padding", minimum=0)
        self.output_padding = pair(output_padding, "output_padding", minimum=0)
        for op, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True):
            if op >= max(s, d):
                raise ParameterError(
                    _(
                        "convT: output_padding {op} must be smaller than the stride {s} or the "
                        "dilation {d} (it picks one of the input sizes a stride of {s} maps "
                        "to the same output)"
                    ).format(op=op, s=s, d=d)
                )
        if method not in (*METHODS, "both"):
            raise ParameterError(
                _("unknown method {method!r}: use 'im2col' or 'loop'").format(method=method)
            )
        self.alt = None
        if method == "both":
            method = "im2col"
            self.alt = ConvTranspose(filters, kernel_size, stride, padding, output_padding,
                                     dilation, weight=weight, bias=bias, method="loop",
                                     seed=seed)  # fmt: skip
        self.method, self.seed = method, seed
        self.weight = self.bias = None
        self.set_params(weight=weight, bias=bias)
        self.grad_weight = self.grad_bias = self.col_matrix = None
        self.alt_out = self.alt_dx = None
        self._cache = None

    @property
    def pads(self):
        (ph, pw) = self.padding
        return ((ph, ph), (pw, pw))

    def _checked(self, weight, bias):
        if weight is not None:
            weight = float_array(weight, "convT weight", ndim=4)
            if weight.shape[1] != self.filters or tuple(weight.shape[2:]) != self.kernel_size:
                raise ShapeError(
                    _(
                        "convT weight of shape {shape} does not match (C, {filters}, {kh}, {kw})"
                    ).format(
                        shape=weight.shape,
                        filters=self.filters,
                        kh=self.kernel_size[0],
                        kw=self.kernel_size[1],
                    )  # fmt: skip
                )
        if bias is not None:
            bias = float_array(bias, "convT bias")
            if bias.shape != (self.filters,):
                raise ShapeError(
                    _("convT bias must have shape ({filters},), got {shape}").format(
                        filters=self.filters, shape=bias.shape
                    )
                )
        return weight, bias

    def set_params(self, weight=None, bias=None) -> None:
        self.weight, self.bias = self._checked(weight, bias)
        if self.alt is not None:
            self.alt.set_params(weight=weight, bias=bias)

    def _init_parameters(self, channels: int) -> None:
        if self.weight is not None and self.bias is not None:
            return
        rng = np.random.default_rng(self.seed)
        kh, kw = self.kernel_size
        fan_in = self.filters * kh * kw  # torch's ConvTranspose2d: weight.size(1) * kh * kw
        if self.weight is None:
            self.weight = kaiming_uniform(rng, (channels, self.filters, kh, kw), fan_in)
        if self.bias is None:
            self.bias = kaiming_uniform(rng, (self.filters,), fan_in)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) -> T: (N, F, H_out, W_out), in x's dtype."""
        x = float_array(x, "convT input", ndim=4)
        self._init_parameters(x.shape[1])
        if x.shape[1] != self.weight.shape[0]:
            raise ShapeError(
                _("the input has {c} channels but the convT weight expects {w}").format(
                    c=x.shape[1], w=self.weight.shape[0]
                )
            )
        out_hw = self.output_shape(x.shape)[2:]
        w = self.weight.astype(x.dtype, copy=False)
        b = self.bias.astype(x.dtype, copy=False)
        if self.method == "loop":
            out = scatter_loop(x, w, self.stride, self.pads, self.dilation, out_hw)
            self.col_matrix = None
        else:
            out, self.col_matrix = scatter_gemm(x, w, self.stride, self.pads, self.dilation,
                                                out_hw)  # fmt: skip
        out += b[None, :, None, None]
        self._cache = (x, w, out.shape)
        self.alt_out = self.alt.forward(x) if self.alt is not None else None
        return out

    @property
    def cols(self) -> np.ndarray | None:
        """T_col in (N, F*kh*kw, H*W) layout: one column of kernel copies per input pixel."""
        if self.col_matrix is None:
            return None
        return unfold_layout(self.col_matrix, self._cache[0].shape[0])

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dT: (N, F, H_out, W_out) -> dx: (N, C, H, W), a convolution of dT with Wt; sets
        ``grad_weight`` (C, F, kh, kw) and ``grad_bias`` (F,)."""
        require_forward(self._cache, "ConvTranspose")
        x, w, out_shape = self._cache
        dout = check_dout(dout, out_shape, "ConvTranspose").astype(x.dtype, copy=False)
        if self.method == "loop":
            dx, dw = self._backward_loop(dout, x, w)
        else:
            d_cols = im2col_matrix(dout, self.kernel_size, self.stride, self.pads,
                                   self.dilation, x.shape[2:])  # fmt: skip
            c_count = x.shape[1]
            x_rows = x.transpose(1, 0, 2, 3).reshape(c_count, -1)
            dx_rows = w.reshape(c_count, -1) @ d_cols  # (C, N*H*W)
            dx = dx_rows.reshape(c_count, x.shape[0], *x.shape[2:]).transpose(1, 0, 2, 3).copy()
            dw = (x_rows @ d_cols.T).reshape(w.shape)
        self.grad_weight, self.grad_bias = dw, dout.sum(axis=(0, 2, 3))
        self.grads = {"weight": self.grad_weight, "bias": self.grad_bias}
        self.alt_dx = self.alt.backward(dout) if self.alt is not None else None
        return dx

    def _backward_loop(self, dout, x, w):
        """dx[n,c,i,j] = Σ_{f,u,v} dT_full[n,f,i·s+u·d,j·s+v·d] · Wt[c,f,u,v]; dWt likewise."""
        (sh, sw), (dh, dw_) = self.stride, self.dilation
        (pt, _), (pl, _) = self.pads
        kh, kw = self.kernel_size
        n_count, c_count, h, wd = x.shape
        full_h = max((h - 1) * sh + dh * (kh - 1) + 1, pt + dout.shape[2])
        full_w = max((wd - 1) * sw + dw_ * (kw - 1) + 1, pl + dout.shape[3])
        full = np.zeros((*dout.shape[:2], full_h, full_w), dtype=dout.dtype)
        full[:, :, pt : pt + dout.shape[2], pl : pl + dout.shape[3]] = dout
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for n in range(n_count):
            for i in range(h):
                for j in range(wd):
                    field = full[n, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                                 j * sw : j * sw + dw_ * (kw - 1) + 1 : dw_]  # fmt: skip
                    dx[n, :, i, j] = np.tensordot(w, field, axes=([1, 2, 3], [0, 1, 2]))
                    dw += x[n, :, i, j][:, None, None, None] * field[None]
        return dx, dw

    @property
    def weight_symbol(self) -> str:
        return numbered("Wt", self.name)

    @property
    def bias_symbol(self) -> str:
        return numbered("bt", self.name)
