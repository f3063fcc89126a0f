"""im2col / col2im: sliding windows as columns, and back (torch's ``unfold`` / ``fold`` layout).

For an input x: (N, C, H, W), a kernel kh×kw, stride s, dilation d and padding p::

    X_col[n, c*kh*kw + u*kw + v, i*W_out + j] = x_pad[n, c, i*s_h + u*d_h, j*s_w + v*d_w]

so one column holds one receptive field, and a convolution becomes one matrix product
``H = W_row @ X_col + b``. ``col2im`` is the adjoint: every column entry is *added* back to the
pixel it came from, so pixels shared by overlapping windows accumulate their gradients.

Both are filled by kh·kw strided slice copies (one per kernel offset), never by a Python loop
over output positions.
"""

from __future__ import annotations

import numpy as np

from .errors import ShapeError
from .geometry import PaddingSpec, Pads, conv_output_shape, pair, resolve_padding


def pad_input(x: np.ndarray, pads: Pads) -> np.ndarray:
    """Zero-pad the two spatial axes. x: (N, C, H, W) -> (N, C, H+pt+pb, W+pl+pr).

    Returns ``x`` itself (no copy) when there is no padding.
    """
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))


def window_slices(i_start: int, j_start: int, out_hw, stride) -> tuple[slice, slice]:
    """The strided slices of the padded input that kernel offset (u, v) reads for *all* output
    positions at once: rows ``i_start + s_h*i`` for i < H_out, likewise columns."""
    (ho, wo), (sh, sw) = out_hw, stride
    return (
        slice(i_start, i_start + sh * (ho - 1) + 1, sh),
        slice(j_start, j_start + sw * (wo - 1) + 1, sw),
    )


def windows(xp: np.ndarray, kernel_size, stride, dilation, out_hw) -> np.ndarray:
    """All receptive fields of an already padded input, kernel offsets first.

    xp: (N, C, Hp, Wp) -> (N, C, kh, kw, H_out, W_out), a fresh contiguous array with
    ``out[n, c, u, v, i, j] = xp[n, c, i*s_h + u*d_h, j*s_w + v*d_w]``.
    """
    kh, kw = kernel_size
    dh, dw = dilation
    n, c = xp.shape[:2]
    out = np.empty((n, c, kh, kw, *out_hw), dtype=xp.dtype)
    for u in range(kh):
        for v in range(kw):
            out[:, :, u, v] = xp[(..., *window_slices(u * dh, v * dw, out_hw, stride))]
    return out


def add_windows(grad_windows: np.ndarray, padded_hw, kernel_size, stride, dilation) -> np.ndarray:
    """Adjoint of :func:`windows`: add each window entry back onto its pixel.

    grad_windows: (N, C, kh, kw, H_out, W_out) -> (N, C, Hp, Wp) (still padded).
    """
    n, c, kh, kw, ho, wo = grad_windows.shape
    dh, dw = dilation
    out = np.zeros((n, c, *padded_hw), dtype=grad_windows.dtype)
    for u in range(kh):
        for v in range(kw):
            out[(..., *window_slices(u * dh, v * dw, (ho, wo), stride))] += grad_windows[:, :, u, v]
    return out


def _check_4d(x, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ShapeError(f"{what} must be 4-D (N, C, H, W), got shape {x.shape}")
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
    cols = windows(pad_input(x, pads), k, s, d, out_hw)
    n, c = x.shape[:2]
    return cols.reshape(n, c * k[0] * k[1], out_hw[0] * out_hw[1])


def col2im(
    cols: np.ndarray, output_size, kernel_size, stride=1, padding: PaddingSpec = 0, dilation=1
) -> np.ndarray:
    """Fold columns back into an image, summing overlaps, exactly as ``torch.nn.functional.fold``.

    cols: (N, C*kh*kw, L), output_size: (H, W) of the *unpadded* image -> (N, C, H, W).
    """
    cols = np.asarray(cols)
    if cols.ndim != 3:
        raise ShapeError(f"col2im input must be 3-D (N, C*kh*kw, L), got shape {cols.shape}")
    hw = pair(output_size, "output size")
    k, s, d = pair(kernel_size, "kernel size"), pair(stride, "stride"), pair(dilation, "dilation")
    pads = resolve_padding(padding, hw, k, s, d)
    out_hw = conv_output_shape(hw, k, s, pads, d)
    n, rows, length = cols.shape
    if rows % (k[0] * k[1]) or length != out_hw[0] * out_hw[1]:
        raise ShapeError(
            f"col2im input of shape {cols.shape} does not match kernel {k[0]}×{k[1]} and "
            f"{out_hw[0]}×{out_hw[1]} = {out_hw[0] * out_hw[1]} window positions"
        )
    c = rows // (k[0] * k[1])
    (pt, pb), (pl, pr) = pads
    padded = add_windows(
        cols.reshape(n, c, k[0], k[1], *out_hw), (hw[0] + pt + pb, hw[1] + pl + pr), k, s, d
    )
    return padded[:, :, pt : pt + hw[0], pl : pl + hw[1]]
