"""Pooling: max and average over kh×kw windows, forward and backward, without position loops.

For window (i, j) of channel c: ``P[n, c, i, j] = max_{u,v} x[n, c, i*s_h + u, j*s_w + v]`` (or the
mean). Max pooling's backward sends dP[n, c, i, j] to the window's argmax only (the first maximum
in row-major window order on ties, as PyTorch's CPU max_pool2d); average pooling spreads
dP / (kh*kw) over the window. When windows overlap (stride < kernel) the shares accumulate.
"""

from __future__ import annotations

import numpy as np

from ..geometry import conv_output_shape, pair
from ..im2col import add_windows, windows
from ._checks import check_dout, float_array, require_forward


class _Pool2D:
    name = "Pool2D"

    def __init__(self, kernel_size, stride=None):
        self.kernel_size = pair(kernel_size, "pool size")
        self.stride = self.kernel_size if stride is None else pair(stride, "pool stride")
        self.cols = self.grad_cols = None
        self._cache = None

    def _windows(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) -> windows (N, C, kh*kw, H_out, W_out); also sets ``cols``."""
        x = float_array(x, f"{self.name} input", ndim=4)
        out_hw = conv_output_shape(x.shape[2:], self.kernel_size, self.stride, what="pool window")
        win = windows(x, self.kernel_size, self.stride, (1, 1), out_hw)
        n, c, kh, kw = win.shape[:4]
        win = win.reshape(n, c, kh * kw, *out_hw)
        self.cols = win.reshape(n, c, kh * kw, -1)  # (N, C, kh*kw, L): one column per window
        return win

    def _checked_dout(self, dout: np.ndarray):
        """dout after forward, shaped like the output; returns (dout, x_shape, out_shape)."""
        require_forward(self._cache, self.name)
        x_shape, out_shape = self._cache
        return check_dout(dout, out_shape, self.name), x_shape, out_shape

    def _scatter(self, grad_windows: np.ndarray, x_shape) -> np.ndarray:
        """Window gradients (N, C, kh*kw, H_out, W_out) -> dx (N, C, H, W), overlaps adding up;
        also sets ``grad_cols`` (N, C, kh*kw, L), laid out like ``cols``."""
        n, c, _, ho, wo = grad_windows.shape
        kh, kw = self.kernel_size
        self.grad_cols = grad_windows.reshape(n, c, kh * kw, ho * wo)
        return add_windows(
            grad_windows.reshape(n, c, kh, kw, ho, wo),
            x_shape[2:],
            self.kernel_size,
            self.stride,
            (1, 1),
        )


class MaxPool2D(_Pool2D):
    """Max pooling. x: (N, C, H, W) -> (N, C, H_out, W_out), H_out = floor((H - kh) / s_h) + 1.

    stride defaults to the kernel size. After ``backward``: ``grad_cols`` (N, C, kh*kw, L), dout
    placed on each window's chosen cell. After ``forward``: ``cols`` (N, C, kh*kw, L), the windows
    as columns, and ``argmax`` (N, C, H_out, W_out), the row-major index u*kw + v of each window's
    chosen cell.
    """

    name = "MaxPool2D"

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

    name = "AvgPool2D"

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
