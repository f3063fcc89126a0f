"""im2col / col2im: sliding windows as columns, and back (torch's ``unfold`` / ``fold`` layout).

For an input x: (N, C, H, W), a kernel kh×kw, stride s, dilation d and padding p::

    X_col[n, c*kh*kw + u*kw + v, i*W_out + j] = x_pad[n, c, i*s_h + u*d_h, j*s_w + v*d_w]

so one column holds one receptive field, and a convolution becomes one matrix product
``H = W_row @ X_col + b``. ``col2im`` is the adjoint: every column entry is *added* back to the
pixel it came from, so pixels shared by overlapping windows accumulate their gradients.

Both are filled by kh·kw strided slice copies (one per kernel offset (u, v)), never by a Python
loop over output positions. Padding is never materialised: an offset's taps that land on the
zero border are written as zeros (im2col) or dropped (col2im).

Two layouts of the same numbers:

- ``im2col`` / ``col2im``: (N, C*kh*kw, L), L = H_out*W_out, exactly ``F.unfold``'s, for display.
- ``im2col_matrix`` / ``col2im_matrix``: (C*kh*kw, N*L), rows (c, u, v), columns (n, i, j). The
  whole batch is one matrix, so a convolution is ONE matrix product that reads it contiguously;
  ``unfold_layout`` turns it into the first layout.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..i18n import _
from .errors import ShapeError
from .geometry import PaddingSpec, Pads, conv_output_shape, pair, resolve_padding

NO_PADS: Pads = ((0, 0), (0, 0))


def pad_input(x: np.ndarray, pads: Pads) -> np.ndarray:
    """Zero-pad the two spatial axes. x: (N, C, H, W) -> (N, C, H+pt+pb, W+pl+pr).

    Returns ``x`` itself (no copy) when there is no padding. (For display: im2col never pads.)
    """
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))


def _inside(size: int, n_out: int, stride: int, offset: int) -> tuple[slice, slice]:
    """One axis, one kernel tap at ``offset = u*d - p_before``: output positions i whose input
    index ``i*s + offset`` lies inside [0, size), and those input indices (a strided slice).

    Returns (output slice, input slice); both are empty when the tap only ever reads padding.
    """
    lo = max(0, -(offset // stride))  # smallest i with i*s + offset >= 0 (ceil division)
    hi = min(n_out, (size - 1 - offset) // stride + 1) if size - 1 - offset >= 0 else 0
    if hi <= lo:
        return slice(0, 0), slice(0, 0)
    first = lo * stride + offset
    return slice(lo, hi), slice(first, first + stride * (hi - lo - 1) + 1, stride)


def kernel_taps(input_hw, out_hw, kernel_size, stride, dilation, pads) -> Iterator[tuple]:
    """For every kernel offset (u, v): ``(u, v, out_rows, out_cols, in_rows, in_cols)``.

    ``x[..., in_rows, in_cols]`` are the real (unpadded) pixels that offset (u, v) reads, for
    the output positions ``[out_rows, out_cols]``; all other output positions read padding.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    (pt, _pb), (pl, _pr) = pads
    for u in range(kh):
        out_rows, in_rows = _inside(input_hw[0], out_hw[0], sh, u * dh - pt)
        for v in range(kw):
            out_cols, in_cols = _inside(input_hw[1], out_hw[1], sw, v * dw - pl)
            yield u, v, out_rows, out_cols, in_rows, in_cols


def gather_windows(x: np.ndarray, dest: np.ndarray, kernel_size, stride, dilation, pads) -> None:
    """Fill ``dest[n, c, u, v, i, j] = x_pad[n, c, i*s_h + u*d_h, j*s_w + v*d_w]`` in place.

    x: (N, C, H, W) unpadded; dest: a (N, C, kh, kw, H_out, W_out) array or strided view.
    One slice copy per (u, v); only the border that reads padding is zeroed.
    """
    h_out, w_out = dest.shape[4:]
    for u, v, rows, cols, in_rows, in_cols in kernel_taps(
        x.shape[2:], (h_out, w_out), kernel_size, stride, dilation, pads
    ):
        tap = dest[:, :, u, v]
        if rows.stop == rows.start or cols.stop == cols.start:
            tap[...] = 0
            continue
        # zero only the border strips that read padding (skipping empty ones saves calls)
        if rows.start > 0:
            tap[:, :, : rows.start] = 0
        if rows.stop < h_out:
            tap[:, :, rows.stop :] = 0
        if cols.start > 0:
            tap[:, :, rows, : cols.start] = 0
        if cols.stop < w_out:
            tap[:, :, rows, cols.stop :] = 0
        tap[:, :, rows, cols] = x[:, :, in_rows, in_cols]


def scatter_windows(src: np.ndarray, dx: np.ndarray, kernel_size, stride, dilation, pads) -> None:
    """Adjoint of :func:`gather_windows`: ``dx[n, c, i*s_h + u*d_h - p_top, ...] += src[n, c, u,
    v, i, j]`` in place, dropping the entries that fall on padding.

    src: (N, C, kh, kw, H_out, W_out) (any strides); dx: (N, C, H, W), unpadded, accumulated.
    """
    for u, v, rows, cols, in_rows, in_cols in kernel_taps(
        dx.shape[2:], src.shape[4:], kernel_size, stride, dilation, pads
    ):
        if rows.stop > rows.start and cols.stop > cols.start:
            dx[:, :, in_rows, in_cols] += src[:, :, u, v, rows, cols]


def windows(xp: np.ndarray, kernel_size, stride, dilation, out_hw) -> np.ndarray:
    """All receptive fields of an already padded input, kernel offsets first.

    xp: (N, C, Hp, Wp) -> (N, C, kh, kw, H_out, W_out), a fresh contiguous array with
    ``out[n, c, u, v, i, j] = xp[n, c, i*s_h + u*d_h, j*s_w + v*d_w]``.
    """
    out = np.empty((*xp.shape[:2], *kernel_size, *out_hw), dtype=xp.dtype)
    gather_windows(xp, out, kernel_size, stride, dilation, NO_PADS)
    return out


def add_windows(grad_windows: np.ndarray, padded_hw, kernel_size, stride, dilation) -> np.ndarray:
    """Adjoint of :func:`windows`: add each window entry back onto its pixel.

    grad_windows: (N, C, kh, kw, H_out, W_out) -> (N, C, Hp, Wp) (still padded).
    """
    out = np.zeros((*grad_windows.shape[:2], *padded_hw), dtype=grad_windows.dtype)
    scatter_windows(grad_windows, out, kernel_size, stride, dilation, NO_PADS)
    return out


def matrix_as_windows(matrix: np.ndarray, n: int, kernel_size, out_hw) -> np.ndarray:
    """View a (C*kh*kw, N*L) column matrix as windows[n, c, u, v, i, j] (no copy)."""
    kh, kw = kernel_size
    c = matrix.shape[0] // (kh * kw)
    return matrix.reshape(c, kh, kw, n, *out_hw).transpose(3, 0, 1, 2, 4, 5)


def im2col_matrix(x: np.ndarray, kernel_size, stride, pads: Pads, dilation, out_hw, out=None):
    """The whole batch's receptive fields as ONE matrix, rows (c, u, v) and columns (n, i, j).

    x: (N, C, H, W) -> X: (C*kh*kw, N*L), ``X[c*kh*kw + u*kw + v, n*L + i*W_out + j] =
    x_pad[n, c, i*s_h + u*d_h, j*s_w + v*d_w]``. ``out`` (that shape and dtype) is reused if given.
    Memory: kh*kw times the input (times H_out*W_out / (H*W)).
    """
    n, c = x.shape[:2]
    shape = (c * kernel_size[0] * kernel_size[1], n * out_hw[0] * out_hw[1])
    if out is None:
        out = np.empty(shape, dtype=x.dtype)
    gather_windows(
        x, matrix_as_windows(out, n, kernel_size, out_hw), kernel_size, stride, dilation, pads
    )
    return out


def col2im_matrix(
    matrix: np.ndarray, x_shape, kernel_size, stride, pads: Pads, dilation, out_hw, work=None
) -> np.ndarray:
    """Adjoint of :func:`im2col_matrix`: (C*kh*kw, N*L) -> a fresh contiguous (N, C, H, W).

    Accumulates in channel-major order (C, N, H, W), the order the matrix rows are in, then
    transposes once; ``work`` (that shape and dtype) is reused for the accumulation if given.
    """
    n, c, h, w = x_shape
    if work is None:
        work = np.zeros((c, n, h, w), dtype=matrix.dtype)
    else:
        work.fill(0)
    src = matrix_as_windows(matrix, n, kernel_size, out_hw)
    scatter_windows(src, work.transpose(1, 0, 2, 3), kernel_size, stride, dilation, pads)
    # .copy(), not ascontiguousarray: with C or N = 1 the view already counts as contiguous
    # and would alias the reused work array
    return work.transpose(1, 0, 2, 3).copy()


def unfold_layout(matrix: np.ndarray, n: int) -> np.ndarray:
    """(C*kh*kw, N*L) column matrix -> a fresh (N, C*kh*kw, L) array, torch's unfold layout."""
    k, total = matrix.shape
    return matrix.reshape(k, n, total // n).transpose(1, 0, 2).copy()  # never a view


def _check_4d(x, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ShapeError(
            _("{what} must be 4-D (N, C, H, W), got shape {shape}").format(what=what, shape=x.shape)
        )
    return x


def im2col(
    x: np.ndarray, kernel_size, stride=1, padding: PaddingSpec = 0, dilation=1
) -> np.ndarray:
    """Unfold sliding windows into columns, exactly as ``torch.nn.functional.unfold``.

    x: (N, C, H, W) -> X_col: (N, C*kh*kw, L) with L = H_out*W_out. ``padding`` also accepts
    ``"valid"``, ``"same"`` and explicit ``((top, bottom), (left, right))``.
    """
    x = _check_4d(x, "im2col input")
    k, s, d = pair(kernel_size, "kernel size"), pair(stride, "stride"), pair(dilation, "dilation")
    pads = resolve_padding(padding, x.shape[2:], k, s, d)
    out_hw = conv_output_shape(x.shape[2:], k, s, pads, d)
    n, c = x.shape[:2]
    cols = np.empty((n, c, *k, *out_hw), dtype=x.dtype)
    gather_windows(x, cols, k, s, d, pads)
    return cols.reshape(n, c * k[0] * k[1], out_hw[0] * out_hw[1])


def col2im(
    cols: np.ndarray, output_size, kernel_size, stride=1, padding: PaddingSpec = 0, dilation=1
) -> np.ndarray:
    """Fold columns back into an image, summing overlaps, exactly as ``torch.nn.functional.fold``.

    cols: (N, C*kh*kw, L), output_size: (H, W) of the *unpadded* image -> (N, C, H, W).
    """
    cols = np.asarray(cols)
    if cols.ndim != 3:
        raise ShapeError(
            _("col2im input must be 3-D (N, C*kh*kw, L), got shape {shape}").format(
                shape=cols.shape
            )
        )
    hw = pair(output_size, "output size")
    k, s, d = pair(kernel_size, "kernel size"), pair(stride, "stride"), pair(dilation, "dilation")
    pads = resolve_padding(padding, hw, k, s, d)
    out_hw = conv_output_shape(hw, k, s, pads, d)
    n, rows, length = cols.shape
    if rows % (k[0] * k[1]) or length != out_hw[0] * out_hw[1]:
        raise ShapeError(
            _(
                "col2im input of shape {shape} does not match kernel {k}×{k2} "
                "and {out_hw}×{out_hw2} = {out_hw3} window positions"
            ).format(
                shape=cols.shape,
                k=k[0],
                k2=k[1],
                out_hw=out_hw[0],
                out_hw2=out_hw[1],
                out_hw3=out_hw[0] * out_hw[1],
            )
        )
    c = rows // (k[0] * k[1])
    out = np.zeros((n, c, *hw), dtype=cols.dtype)
    scatter_windows(cols.reshape(n, c, *k, *out_hw), out, k, s, d, pads)
    return out
