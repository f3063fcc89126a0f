"""im2col and col2im by index arrays, with the contract of CS231n's starter ``im2col.py``.

For x of shape (N, C, H, W), a field of fh × fw, zero padding p on every side and stride s,
the output grid is Ho × Wo with Ho = (H + 2p − fh) / s + 1 (the stride must divide), L = Ho·Wo.
Row r = (c·fh + u)·fw + v of a column matrix holds, for the window at output (i, j) (column
l = i·Wo + j), the padded input's cell x_pad[n, c, i·s + u, j·s + v].

    get_im2col_indices -> (k, i, j): k (C·fh·fw, 1) the channel of each row, i and j
                          (C·fh·fw, L) the padded row and column each entry reads, so that
                          x_pad[:, k, i, j] is (N, C·fh·fw, L)
    im2col_indices     -> (C·fh·fw, L·N): column l·N + n is window l of sample n
    col2im_indices     -> (N, C, H, W): the adjoint, each column entry added back to the cell
                          it was read from (overlapping windows add up)
"""

import numpy as np


def _out_size(size, field, padding, stride):
    span = size + 2 * padding - field
    if span < 0 or span % stride:
        raise ValueError(
            f"the stride {stride} does not divide {size} + 2·{padding} − {field} = {span}"
        )
    return span // stride + 1


def get_im2col_indices(x_shape, field_height, field_width, padding=1, stride=1):
    """(k, i, j) such that ``x_padded[:, k, i, j]`` is every window as a column."""
    _, channels, height, width = x_shape
    out_h = _out_size(height, field_height, padding, stride)
    out_w = _out_size(width, field_width, padding, stride)
    # the row's (c, u, v), c slowest; the column's (i, j), j fastest
    c, u, v = np.meshgrid(
        np.arange(channels), np.arange(field_height), np.arange(field_width), indexing="ij"
    )
    row_i, col_j = np.meshgrid(np.arange(out_h), np.arange(out_w), indexing="ij")
    k = c.reshape(-1, 1)
    i = u.reshape(-1, 1) + stride * row_i.reshape(1, -1)
    j = v.reshape(-1, 1) + stride * col_j.reshape(1, -1)
    return k.astype(int), i.astype(int), j.astype(int)


def im2col_indices(x, field_height, field_width, padding=1, stride=1):
    """x (N, C, H, W) -> (C·fh·fw, L·N), column l·N + n the window l of sample n."""
    p = padding
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="constant")
    k, i, j = get_im2col_indices(x.shape, field_height, field_width, padding, stride)
    windows = padded[:, k, i, j]  # (N, C·fh·fw, L)
    return np.moveaxis(windows, 0, -1).reshape(windows.shape[1], -1)


def col2im_indices(cols, x_shape, field_height=3, field_width=3, padding=1, stride=1):
    """The adjoint of ``im2col_indices``: (C·fh·fw, L·N) -> (N, C, H, W), each entry added to
    the cell it came from."""
    n, channels, height, width = x_shape
    p = padding
    padded = np.zeros((n, channels, height + 2 * p, width + 2 * p), dtype=cols.dtype)
    k, i, j = get_im2col_indices(x_shape, field_height, field_width, padding, stride)
    windows = np.moveaxis(cols.reshape(cols.shape[0], -1, n), -1, 0)  # (N, C·fh·fw, L)
    np.add.at(padded, (slice(None), k, i, j), windows)
    return padded[:, :, p : p + height, p : p + width]
