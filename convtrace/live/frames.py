"""Animation frames of ``convtrace live``, pure numpy: one frame per window, computed on demand.

Three animations, each a sequence whose frame k is window k in (n, f|c, i, j) order:

- ``ConvFrames`` (a conv's ``.out``): the window of x_pad read for output (n, f, i, j), the
  kernel W[f], their products, the running sum of the products term by term (c, u, v order),
  the bias, and the output filled up to this window::

      H[n,f,i,j] = Σ_{c,u,v} x_pad[n,c, i·s_h+u·d_h, j·s_w+v·d_w] · W[f,c,u,v] + b[f]

- ``PoolFrames`` (a pool's ``.out``): the window of the pool input, its max (first maximum on
  ties, as torch) or mean, and the output filled up to this window.

- ``Col2imFrames`` (the gradient of a conv's input, ``grad.input``): window (n, f, i, j) adds
  dH[n,f,i,j] · W[f] into dx_pad[n, :, window]; the frame holds the gradient accumulated over
  windows 0…k of sample n and how many windows have touched each padded pixel so far. After
  the last window of a sample, the counts inside the input are F · (windows covering the pixel),
  the number of terms ``convtrace explain 'grad.input[…]'`` writes out.

Frames are computed when asked for (``frames[k]``), so a large layer costs nothing up front.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.im2col import pad_input

Pads = tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class Geometry:
    """A conv's (or a pool's) window geometry: kernel (kh, kw), stride, dilation, pads
    ((top, bottom), (left, right))."""

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pads: Pads = ((0, 0), (0, 0))

    @classmethod
    def of_conv(cls, layer) -> Geometry:
        """Read from a conv layer after its forward (``pads`` are resolved then)."""
        pads = layer.pads if layer.pads is not None else ((0, 0), (0, 0))
        return cls(tuple(layer.kernel_size), tuple(layer.stride), tuple(layer.dilation), pads)

    @classmethod
    def of_pool(cls, layer) -> Geometry:
        return cls(tuple(layer.kernel_size), tuple(layer.stride))

    def taps(self, i: int, j: int) -> list[tuple[int, int]]:
        """Padded-input cells read by output (i, j), in (u, v) order: (i·s+u·d, j·s+v·d)."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        return [(i * sh + u * dh, j * sw + v * dw) for u in range(kh) for v in range(kw)]

    def out_hw(self, padded_hw) -> tuple[int, int]:
        """H_out = floor((H_pad − d·(k−1) − 1) / s) + 1, likewise W_out."""
        return tuple(
            (size - d * (k - 1) - 1) // s + 1
            for size, k, s, d in zip(
                padded_hw, self.kernel, self.stride, self.dilation, strict=True
            )
        )


class _Windows:
    """A sequence of frames over the windows (n, a, i, j) of shape (N, A, H_out, W_out)."""

    shape: tuple[int, int, int, int]

    def __len__(self) -> int:
        return int(np.prod(self.shape))

    def index(self, k: int) -> tuple[int, int, int, int]:
        """Window k's (n, a, i, j), row-major."""
        if not 0 <= k < len(self):
            raise IndexError(f"frame {k} of {len(self)}")
        return tuple(int(v) for v in np.unravel_index(k, self.shape))

    def first(self, n: int, a: int = 0) -> int:
        """The number of the first frame of slice (n, a)."""
        return int(np.ravel_multi_index((n, a, 0, 0), self.shape))

    def slice_range(self, n: int, a: int) -> range:
        """The frames of slice (n, a): H_out·W_out windows in (i, j) order."""
        start = self.first(n, a)
        return range(start, start + self.shape[2] * self.shape[3])

    def _filled(self, k: int) -> np.ndarray:
        """Booleans (N, A, H_out, W_out): the outputs computed by windows 0…k."""
        mask = np.zeros(len(self), bool)
        mask[: k + 1] = True
        return mask.reshape(self.shape)


@dataclass
class ConvFrame:
    """Window k of a convolution. window, kernel, products: (C, kh, kw); running: (C·kh·kw,)
    partial sums of the products in (c, u, v) order; value = running[-1] + bias;
    output / filled: (N, F, H_out, W_out), the outputs of windows 0…k (others 0 / False)."""

    k: int
    index: tuple[int, int, int, int]
    taps: list[tuple[int, int]]
    window: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    running: np.ndarray
    bias: float
    value: float
    output: np.ndarray
    filled: np.ndarray


class ConvFrames(_Windows):
    """x: (N, C, H, W), weight: (F, C, kh, kw), bias: (F,), geometry: the conv's."""

    def __init__(self, x, weight, bias, geometry: Geometry):
        self.geometry = geometry
        self.padded = pad_input(np.asarray(x, np.float64), geometry.pads)  # (N, C, H_pad, W_pad)
        self.weight = np.asarray(weight, np.float64)
        self.bias = np.asarray(bias, np.float64)
        ho, wo = geometry.out_hw(self.padded.shape[2:])
        self.shape = (self.padded.shape[0], self.weight.shape[0], ho, wo)
        self._out = None

    def _window(self, n: int, i: int, j: int) -> np.ndarray:
        """x_pad[n, :, i·s+u·d, j·s+v·d] for every (c, u, v): (C, kh, kw)."""
        (kh, kw), (sh, sw), (dh, dw) = (
            self.geometry.kernel,
            self.geometry.stride,
            self.geometry.dilation,
        )
        return self.padded[
            n, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw
        ]

    @property
    def output(self) -> np.ndarray:
        """Every output, (N, F, H_out, W_out), by the loops of the formula."""
        if self._out is None:
            out = np.empty(self.shape)
            for n, f, i, j in np.ndindex(*self.shape):
                out[n, f, i, j] = np.sum(self._window(n, i, j) * self.weight[f]) + self.bias[f]
            self._out = out
        return self._out

    def __getitem__(self, k: int) -> ConvFrame:
        n, f, i, j = self.index(k)
        window, kernel = self._window(n, i, j), self.weight[f]
        products = window * kernel
        running = np.cumsum(products.ravel())
        filled = self._filled(k)
        return ConvFrame(
            k,
            (n, f, i, j),
            self.geometry.taps(i, j),
            window,
            kernel,
            products,
            running,
            float(self.bias[f]),
            float(running[-1] + self.bias[f]),
            np.where(filled, self.output, 0.0),
            filled,
        )


@dataclass
class PoolFrame:
    """Window k of a pool. cells: the (r, q) of the window in the map, values: theirs;
    chosen: the index of the max in ``cells`` (None for a mean); value: the max or mean;
    output / filled: (N, C, H_out, W_out) as in ``ConvFrame``."""

    k: int
    index: tuple[int, int, int, int]
    cells: list[tuple[int, int]]
    values: np.ndarray
    chosen: int | None
    value: float
    output: np.ndarray
    filled: np.ndarray


class PoolFrames(_Windows):
    """a: the pool input (N, C, H, W); op: ``"max"`` or ``"mean"``."""

    def __init__(self, a, geometry: Geometry, op: str = "max"):
        self.map = np.asarray(a, np.float64)
        self.geometry, self.op = geometry, op
        self.shape = (*self.map.shape[:2], *geometry.out_hw(self.map.shape[2:]))
        self._out = None

    @property
    def output(self) -> np.ndarray:
        """Every output, (N, C, H_out, W_out): each window's max or mean, computed once."""
        if self._out is None:
            out = np.empty(self.shape)
            for n, c, i, j in np.ndindex(*self.shape):
                taps = self.geometry.taps(i, j)
                out[n, c, i, j] = self._reduce(np.array([self.map[n, c, r, q] for r, q in taps]))[1]
            self._out = out
        return self._out

    def _reduce(self, values: np.ndarray) -> tuple[int | None, float]:
        if self.op == "max":
            chosen = int(np.argmax(values))  # the first maximum, as torch on ties
            return chosen, float(values[chosen])
        return None, float(np.mean(values))

    def __getitem__(self, k: int) -> PoolFrame:
        n, c, i, j = self.index(k)
        cells = self.geometry.taps(i, j)
        values = np.array([self.map[n, c, r, q] for r, q in cells])
        chosen, value = self._reduce(values)
        filled = self._filled(k)
        output = np.where(filled, self.output, 0.0)
        return PoolFrame(k, (n, c, i, j), cells, values, chosen, value, output, filled)


@dataclass
class Col2imFrame:
    """Window k = (n, f, i, j) of the input gradient. contribution: dH[n,f,i,j]·W[f]:
    (C, kh, kw), added at ``taps``; grad: (C, H_pad, W_pad), sample n's ∂L/∂x_pad after windows
    up to k; touches: (H_pad, W_pad), how many windows of sample n have added into each pixel."""

    k: int
    index: tuple[int, int, int, int]
    taps: list[tuple[int, int]]
    g: float
    contribution: np.ndarray
    grad: np.ndarray
    touches: np.ndarray

    def inside(self, pads: Pads) -> tuple[np.ndarray, np.ndarray]:
        """``grad`` (C, H, W) and ``touches`` (H, W) without the padding border."""
        (pt, pb), (pl, pr) = pads
        rows = slice(pt, self.touches.shape[0] - pb)
        cols = slice(pl, self.touches.shape[1] - pr)
        return self.grad[:, rows, cols], self.touches[rows, cols]


class Col2imFrames(_Windows):
    """dH: ∂L/∂H (N, F, H_out, W_out); weight: (F, C, kh, kw); input_hw: (H, W) of x."""

    def __init__(self, dh, weight, geometry: Geometry, input_hw):
        self.dh = np.asarray(dh, np.float64)
        self.weight = np.asarray(weight, np.float64)
        self.geometry = geometry
        (pt, pb), (pl, pr) = geometry.pads
        self.padded_hw = (input_hw[0] + pt + pb, input_hw[1] + pl + pr)
        self.shape = tuple(self.dh.shape)
        self._cache: tuple[int, np.ndarray, np.ndarray] | None = None

    def _add(self, k: int, grad: np.ndarray, touches: np.ndarray) -> None:
        n, f, i, j = self.index(k)
        for (r, q), w in zip(self.geometry.taps(i, j), self._taps_of(f), strict=True):
            grad[:, r, q] += self.dh[n, f, i, j] * w
            touches[r, q] += 1

    def _taps_of(self, f: int) -> list[np.ndarray]:
        """W[f, :, u, v] for every (u, v), in the order of ``Geometry.taps``."""
        kh, kw = self.geometry.kernel
        return [self.weight[f, :, u, v] for u in range(kh) for v in range(kw)]

    def __getitem__(self, k: int) -> Col2imFrame:
        n, f, i, j = self.index(k)
        start = self.first(n)
        cached = self._cache
        if cached is not None and start <= cached[0] <= k:  # step forward from the last frame
            done, grad, touches = cached[0], cached[1].copy(), cached[2].copy()
        else:
            done = start - 1
            grad = np.zeros((self.weight.shape[1], *self.padded_hw))
            touches = np.zeros(self.padded_hw, int)
        for kk in range(done + 1, k + 1):
            self._add(kk, grad, touches)
        self._cache = (k, grad, touches)
        g = float(self.dh[n, f, i, j])
        return Col2imFrame(
            k,
            (n, f, i, j),
            self.geometry.taps(i, j),
            g,
            g * self.weight[f],
            grad.copy(),
            touches.copy(),
        )

    def sample_range(self, n: int) -> range:
        """Every window of sample n: F·H_out·W_out frames."""
        start = self.first(n)
        return range(start, start + int(np.prod(self.shape[1:])))
