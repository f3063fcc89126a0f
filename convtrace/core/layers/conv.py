"""Conv2D: a 2-D convolution (cross-correlation, as in every DL framework), two ways.

Forward, for every sample n, filter f and output position (i, j)::

    H[n, f, i, j] = b[f] + sum_{c, u, v} W[f, c, u, v] * x_pad[n, c, i*s_h + u*d_h, j*s_w + v*d_w]

Backward, given dH = dL/dH::

    dW[f, c, u, v] = sum_{n, i, j} dH[n, f, i, j] * x_pad[n, c, i*s_h + u*d_h, j*s_w + v*d_w]
    db[f]          = sum_{n, i, j} dH[n, f, i, j]
    dx_pad[n, c, i*s_h + u*d_h, j*s_w + v*d_w] += dH[n, f, i, j] * W[f, c, u, v]

``method="loop"`` writes those sums as loops; ``method="im2col"`` writes them as matrix
products: ``H = W_row @ X_col + b``, ``dW_row = dH @ X_col^T``, ``dX_col = W_row^T @ dH`` and
``dX = col2im(dX_col)``.

For speed the im2col method keeps the whole batch in ONE column matrix X: (C*kh*kw, N*L), rows
(c, u, v) and columns (n, i, j) (see ``convtrace.im2col.im2col_matrix``), so each product above is
a single BLAS matrix multiplication over the batch; dH is laid out to match, (F, N*L). The
layer keeps these work arrays between calls (same shapes, no new memory) and shows ``cols`` in
torch's unfold layout (N, C*kh*kw, L), made from X only when someone reads it.
"""

from __future__ import annotations

import numpy as np

from ...i18n import _
from ..errors import ParameterError, ShapeError
from ..geometry import PaddingSpec, conv_output_shape, pair, positive_int, resolve_padding
from ..im2col import col2im_matrix, im2col_matrix, pad_input, unfold_layout
from ._checks import check_dout, float_array, kaiming_uniform, require_forward
from .base import Layer
from .conv_stages import ConvStages

METHODS = ("im2col", "loop")


class Conv(ConvStages, Layer):
    """2-D convolution layer with numpy forward and backward (the network's layer: its
    ``backward`` returns dL/dx; :class:`Conv2D` is the course's API, returning (dW, dx)).

    Args:
        filters: number of filters F (output channels).
        kernel_size: kh×kw, an int or (kh, kw).
        stride: an int or (s_h, s_w), each ≥ 1.
        padding: ``"valid"`` (none), ``"same"`` (output = ceil(input / stride), for every
            stride: the TensorFlow/Keras rule; the odd pixel of padding goes bottom/right), an
            int, or (ph, pw) (symmetric per axis). PyTorch's own ``padding="same"`` only exists
            for stride 1, where it is identical; for stride > 1 compare against torch by padding
            explicitly with ``F.pad(x, (left, right, top, bottom))``.
        dilation: an int or (d_h, d_w), each ≥ 1: kernel taps are ``d`` pixels apart.
        weight: (F, C, kh, kw), used as given. bias: (F,), used as given.
            Missing ones are created at the first ``forward`` (C read from the input) with
            torch.nn.Conv2d's initialisation, U(-1/sqrt(C*kh*kw), +1/sqrt(C*kh*kw)), from
            ``numpy.random.default_rng(seed)``.
        method: ``"im2col"`` (matrix products) or ``"loop"`` (the textbook loops).

    Shapes: x: (N, C, H, W) -> H: (N, F, H_out, W_out) with
    ``H_out = floor((H + p_top + p_bottom - d_h*(kh-1) - 1) / s_h) + 1`` (likewise W_out).

    After ``forward`` (im2col method): ``cols`` X_col: (N, C*kh*kw, L) in torch's unfold layout,
    L = H_out*W_out, ``col_matrix`` the same numbers as one (C*kh*kw, N*L) matrix (overwritten by
    the next forward), and ``weight_rows`` W_row: (F, C*kh*kw). After ``backward``:
    ``grad_weight`` (F, C, kh, kw) and ``grad_bias`` (F,); with im2col also ``grad_cols``
    dL/dX_col = W_row^T @ dL/dH: (N, C*kh*kw, L), the columns col2im folds back into dL/dx
    (``grad_col_matrix`` in the one-matrix layout, overwritten by the next backward).
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        stride=1,
        padding: PaddingSpec = "valid",
        dilation=1,
        *,
        weight=None,
        bias=None,
        method: str = "im2col",
        seed=None,
    ):
        Layer.__init__(self)
        self.filters = positive_int(filters, "number of filters")
        self.kernel_size = pair(kernel_size, "kernel size")
        self.stride = pair(stride, "stride")
        self.dilation = pair(dilation, "dilation")
        resolve_padding(padding, (1, 1), self.kernel_size, self.stride, self.dilation)
        self.padding = padding
        if method not in (*METHODS, "both"):
            raise ParameterError(
                _("unknown method {method!r}: use 'im2col' or 'loop'").format(method=method)
            )
        # "both": im2col shows its X_col, and a loop twin gives the same numbers a second way
        self.alt = None
        if method == "both":
            method = "im2col"
            self.alt = Conv(filters, kernel_size, stride, padding, dilation, weight=weight,
                            bias=bias, method="loop", seed=seed)  # fmt: skip
        self.method = method
        self.seed = seed
        self.weight = None if weight is None else self._checked_weight(weight)
        self.bias = None if bias is None else self._checked_bias(bias)
        self.grad_weight = self.grad_bias = None
        self.col_matrix = self.weight_rows = self.grad_col_matrix = None
        self._cols = self._grad_cols = None
        self.pads = None
        self._cache = None
        self._work: dict[str, np.ndarray] = {}

    @property
    def cols(self) -> np.ndarray | None:
        """X_col: (N, C*kh*kw, L), torch's unfold layout, copied from ``col_matrix`` on first
        read after each forward (None before a forward, and for the loop method)."""
        if self._cols is None and self.col_matrix is not None:
            self._cols = unfold_layout(self.col_matrix, self._cache[0][0])
        return self._cols

    @property
    def grad_cols(self) -> np.ndarray | None:
        """dL/dX_col: (N, C*kh*kw, L), unfold layout, copied from ``grad_col_matrix`` on first
        read after each backward (None before a backward, and for the loop method)."""
        if self._grad_cols is None and self.grad_col_matrix is not None:
            self._grad_cols = unfold_layout(self.grad_col_matrix, self._cache[0][0])
        return self._grad_cols

    def _buffer(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """A work array kept between calls: reused while shape and dtype stay the same, so
        repeated passes do not pay for fresh memory (page faults cost as much as a copy)."""
        buf = self._work.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._work[name] = np.empty(shape, dtype)
        return buf

    def _checked_weight(self, weight) -> np.ndarray:
        weight = float_array(weight, "conv weight", ndim=4)
        f, _c, kh, kw = weight.shape
        if f != self.filters or (kh, kw) != self.kernel_size:
            raise ShapeError(
                _(
                    "conv weight of shape {shape} does not match {filters} filters "
                    "of size {kernel_size}×{kernel_size2}"
                ).format(
                    shape=weight.shape,
                    filters=self.filters,
                    kernel_size=self.kernel_size[0],
                    kernel_size2=self.kernel_size[1],
                )
            )
        return weight

    def _checked_bias(self, bias) -> np.ndarray:
        bias = float_array(bias, "conv bias")
        if bias.shape != (self.filters,):
            raise ShapeError(
                _("conv bias must have shape ({filters},), got {shape}").format(
                    filters=self.filters, shape=bias.shape
                )
            )
        return bias

    def _init_parameters(self, channels: int) -> None:
        if self.weight is not None and self.bias is not None:
            return  # the usual case after the first forward: no generator to build
        rng = np.random.default_rng(self.seed)
        kh, kw = self.kernel_size
        fan_in = channels * kh * kw
        if self.weight is None:
            self.weight = kaiming_uniform(rng, (self.filters, channels, kh, kw), fan_in)
        if self.bias is None:
            self.bias = kaiming_uniform(rng, (self.filters,), fan_in)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) -> (N, F, H_out, W_out), in x's dtype."""
        x = float_array(x, "conv input", ndim=4)
        self._init_parameters(x.shape[1])
        if x.shape[1] != self.weight.shape[1]:
            raise ShapeError(
                _(
                    "the input has {shape} channels (shape {shape2}) but the conv "
                    "weight expects {shape3} (shape {shape4})"
                ).format(
                    shape=x.shape[1],
                    shape2=x.shape,
                    shape3=self.weight.shape[1],
                    shape4=self.weight.shape,
                )
            )
        self.pads = resolve_padding(
            self.padding, x.shape[2:], self.kernel_size, self.stride, self.dilation
        )
        out_hw = conv_output_shape(
            x.shape[2:], self.kernel_size, self.stride, self.pads, self.dilation
        )
        w = self.weight.astype(x.dtype, copy=False)
        b = self.bias.astype(x.dtype, copy=False)
        if self.method == "loop":
            xp = pad_input(x, self.pads)
            out = self._forward_loop(xp, w, b, out_hw)
        else:
            xp = None  # im2col reads the unpadded input and writes the zero border itself
            out = self._forward_im2col(x, w, b, out_hw)
        self._cache = (x.shape, xp, w, out.shape)
        self.alt_out = self.alt.forward(x) if self.alt is not None else None
        return out

    def _receptive_field(self, xp_n: np.ndarray, i: int, j: int) -> np.ndarray:
        """x_pad[n, :, i*s_h + u*d_h, j*s_w + v*d_w] for all c, u, v: shape (C, kh, kw)."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        return xp_n[
            :, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw
        ]

    def _forward_loop(self, xp, w, b, out_hw) -> np.ndarray:
        n_samples, n_filters = xp.shape[0], w.shape[0]
        out = np.empty((n_samples, n_filters, *out_hw), dtype=xp.dtype)
        for n in range(n_samples):
            for f in range(n_filters):
                for i in range(out_hw[0]):
                    for j in range(out_hw[1]):
                        field = self._receptive_field(xp[n], i, j)
                        out[n, f, i, j] = np.sum(field * w[f]) + b[f]
        return out

    def _forward_im2col(self, x, w, b, out_hw) -> np.ndarray:
        """H = W_row @ X + b as one GEMM: (F, K) @ (K, N*L) -> (F, N*L), then to (N, F, L)."""
        n, f, length = x.shape[0], w.shape[0], out_hw[0] * out_hw[1]
        self.weight_rows = w.reshape(f, -1)
        k = self.weight_rows.shape[1]
        self._cols = self._grad_cols = self.grad_col_matrix = None
        self.col_matrix = im2col_matrix(
            x,
            self.kernel_size,
            self.stride,
            self.pads,
            self.dilation,
            out_hw,
            out=self._buffer("cols", (k, n * length), x.dtype),
        )
        h = np.matmul(
            self.weight_rows, self.col_matrix, out=self._buffer("h", (f, n * length), x.dtype)
        )
        out = np.empty((n, f, *out_hw), dtype=x.dtype)
        # the only reordering of the forward: (F, N, L) -> (N, F, L), with the bias added on the way
        np.add(h.reshape(f, n, length).transpose(1, 0, 2), b[:, None], out=out.reshape(n, f, -1))
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout = dL/dH: (N, F, H_out, W_out) -> dL/dx: (N, C, H, W).

        Sets ``grad_weight`` (dL/dW: (F, C, kh, kw)) and ``grad_bias`` (dL/db: (F,)), also in
        ``grads``; with method "both" the loop twin's in ``alt``.
        """
        dw, dx = self._backward_pair(dout)
        self.grads = {"weight": dw, "bias": self.grad_bias}
        self.alt_dx = self.alt.backward(dout) if self.alt is not None else None
        return dx

    def _backward_pair(self, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dL/dW, dL/dx); sets ``grad_bias``."""
        require_forward(self._cache, "Conv2D")
        x_shape, xp, w, out_shape = self._cache
        dout = check_dout(dout, out_shape, "Conv2D").astype(w.dtype, copy=False)
        if self.method == "loop":
            dw, db, dxp = self._backward_loop(dout, xp, w)
            (pt, _pb), (pl, _pr) = self.pads
            dx = np.ascontiguousarray(dxp[:, :, pt : pt + x_shape[2], pl : pl + x_shape[3]])
        else:
            dw, db, dx = self._backward_im2col(dout, x_shape, w)
        self.grad_weight, self.grad_bias = dw, db
        return dw, dx

    def _backward_loop(self, dout, xp, w):
        dw, db, dxp = np.zeros_like(w), np.zeros(w.shape[0], xp.dtype), np.zeros_like(xp)
        n_samples, n_filters, h_out, w_out = dout.shape
        for n in range(n_samples):
            for f in range(n_filters):
                for i in range(h_out):
                    for j in range(w_out):
                        g = dout[n, f, i, j]
                        dw[f] += g * self._receptive_field(xp[n], i, j)
                        db[f] += g
                        self._receptive_field(dxp[n], i, j)[...] += g * w[f]
        return dw, db, dxp

    def _backward_im2col(self, dout, x_shape, w):
        """One GEMM each: dW_row = dH @ X^T, dX_col = W_row^T @ dH; then dX = col2im(dX_col).

        dout: (N, F, H_out, W_out) is first laid out as dH: (F, N*L) to match X: (K, N*L).
        """
        n, f, length = dout.shape[0], dout.shape[1], dout.shape[2] * dout.shape[3]
        cols = self.col_matrix
        d_rows = self._buffer("d_rows", (f, n * length), dout.dtype)
        np.copyto(d_rows.reshape(f, n, length), dout.reshape(n, f, length).transpose(1, 0, 2))
        db = d_rows.sum(axis=1)
        # X @ dH^T: (K, N*L) @ (N*L, F) -> (K, F) is the faster operand order for BLAS here
        dw = np.ascontiguousarray(np.matmul(cols, d_rows.T).T).reshape(w.shape)
        d_cols = np.matmul(
            self.weight_rows.T, d_rows, out=self._buffer("d_cols", cols.shape, dout.dtype)
        )
        self.grad_col_matrix, self._grad_cols = d_cols, None
        c, h, wd = x_shape[1:]
        dx = col2im_matrix(
            d_cols,
            x_shape,
            self.kernel_size,
            self.stride,
            self.pads,
            self.dilation,
            dout.shape[2:],
            work=self._buffer("dx", (c, n, h, wd), dout.dtype),
        )
        return dw, db, dx


class Conv2D(Conv):
    """The course's Conv2D: the network's :class:`Conv` with the exercise's ``backward``.

    ``backward(dout) -> (dW, dx)`` as the course asks (dW = ``grad_weight``; ``grad_bias`` is
    set too). Everything else, shapes and arguments included, is :class:`Conv`'s.
    """

    def backward(self, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """dout = dL/dH: (N, F, H_out, W_out) -> (dL/dW: (F, C, kh, kw), dL/dx: (N, C, H, W)).

        Also sets ``grad_weight`` (= dL/dW) and ``grad_bias`` (dL/db: (F,)).
        """
        dx = super().backward(dout)
        return self.grad_weight, dx
