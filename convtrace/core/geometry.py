"""Output sizes and padding: the one place the convolution geometry formulas live.

For one axis, with input size ``n``, kernel ``k``, stride ``s``, dilation ``d`` and padding
``p_before`` / ``p_after``::

    k_eff = d*(k-1) + 1                                   (span of a dilated kernel)
    n_out = floor((n + p_before + p_after - k_eff) / s) + 1

``"same"`` padding follows the TensorFlow/Keras rule, which works for every stride::

    n_out = ceil(n / s)
    total = max((n_out - 1)*s + k_eff - n, 0)
    p_before = total // 2,  p_after = total - p_before    (the odd pixel goes after)

For stride 1 this is exactly PyTorch's ``padding="same"``; PyTorch refuses ``"same"`` for
stride > 1, so convtrace emulates it there with an explicit, possibly asymmetric ``F.pad``.
"""

from __future__ import annotations

import numbers
from typing import Union

from ..i18n import _
from .errors import ParameterError

IntPair = tuple[int, int]
Pads = tuple[IntPair, IntPair]  # ((top, bottom), (left, right))
PaddingSpec = Union[str, int, tuple]  # noqa: UP007 (a runtime alias on 3.10)


#: Beyond this, a size, kernel, stride, dilation or padding is no classroom convolution (and
#: torch's int64 arguments, or a read mask of one byte per position, would fail long before).
GEOMETRY_LIMIT = 1_000_000


def check_limit(value: int, option: str) -> None:
    """Refuse a number beyond GEOMETRY_LIMIT, naming the option the user typed."""
    if value > GEOMETRY_LIMIT:
        raise ParameterError(
            _(
                "{option} {value} is more than convtrace's limit of "
                "{GEOMETRY_LIMIT:,} for a size, kernel, stride, dilation or "
                "padding"
            ).format(option=option, value=value, GEOMETRY_LIMIT=GEOMETRY_LIMIT)
        )


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def pair(value, name: str, minimum: int = 1) -> IntPair:
    """Turn an int or an (h, w) pair into an (h, w) tuple of ints, each at least ``minimum``."""
    if _is_int(value):
        values = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_is_int, value)):
        values = tuple(value)
    else:
        raise ParameterError(
            _(
                "{name} must be an integer or a pair of integers (height, width), got {value!r}"
            ).format(name=name, value=value)
        )
    for v in values:
        if v < minimum:
            raise ParameterError(
                _("{name} must be at least {minimum}, got {v}").format(
                    name=name, minimum=minimum, v=v
                )
            )
    return int(values[0]), int(values[1])


def positive_int(value, name: str, minimum: int = 1) -> int:
    """A single integer of at least ``minimum`` (a count, a size)."""
    if not _is_int(value):
        raise ParameterError(
            _("{name} must be an integer, got {value!r}").format(name=name, value=value)
        )
    if value < minimum:
        raise ParameterError(
            _("{name} must be at least {minimum}, got {value}").format(
                name=name, minimum=minimum, value=value
            )
        )
    return int(value)


def effective_kernel(kernel: int, dilation: int) -> int:
    """Span covered by a dilated kernel on one axis: ``d*(k-1) + 1``."""
    return dilation * (kernel - 1) + 1


def same_padding_1d(size: int, kernel: int, stride: int, dilation: int) -> IntPair:
    """(before, after) padding of the "same" rule for one axis (see the module docstring)."""
    out = -(-size // stride)  # ceil(size / stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def resolve_padding(
    padding: PaddingSpec,
    input_hw: IntPair,
    kernel_size,
    stride=1,
    dilation=1,
) -> Pads:
    """Resolve any padding spec to explicit per-side amounts ``((top, bottom), (left, right))``.

    padding: ``"valid"`` (none), ``"same"`` (see module docstring), an int ``p`` (p on every
    side), an ``(ph, pw)`` pair (symmetric per axis), or already-explicit
    ``((top, bottom), (left, right))``.
    """
    kh, kw = pair(kernel_size, "kernel size")
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    if isinstance(padding, str):
        mode = padding.strip().lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            h, w = input_hw
            return same_padding_1d(h, kh, sh, dh), same_padding_1d(w, kw, sw, dw)
        raise ParameterError(
            _(
                "unknown padding {padding!r}: use 'valid', 'same', a "
                "non-negative integer or a pair (ph, pw)"
            ).format(padding=padding)
        )
    if (
        isinstance(padding, (tuple, list))
        and len(padding) == 2
        and all(isinstance(p, (tuple, list)) for p in padding)
    ):
        (t, b), (left, r) = (pair(p, "padding", minimum=0) for p in padding)
        return (t, b), (left, r)
    ph, pw = pair(padding, "padding", minimum=0)
    return (ph, ph), (pw, pw)


def conv_output_shape(
    input_hw: IntPair,
    kernel_size,
    stride=1,
    pads: Pads = ((0, 0), (0, 0)),
    dilation=1,
    what: str = "kernel",
) -> IntPair:
    """(H_out, W_out) of a convolution or pooling window sweep, or an error if it does not fit.

    ``H_out = floor((H + p_top + p_bottom - d*(kh-1) - 1) / s) + 1``, likewise for W.
    """
    kh, kw = pair(kernel_size, "kernel size")
    sh, sw = pair(stride, "stride")
    dh, dw = pair(dilation, "dilation")
    (pt, pb), (pl, pr) = pads
    h, w = input_hw
    span_h, span_w = effective_kernel(kh, dh), effective_kernel(kw, dw)
    padded_h, padded_w = h + pt + pb, w + pl + pr
    if span_h > padded_h or span_w > padded_w:
        dilated = (
            _(" (dilated to {h}×{w})").format(h=span_h, w=span_w) if (dh, dw) != (1, 1) else ""
        )
        # pools never pad
        where = _("the input") if what == "pool window" else _("the padded input")
        what = (
            _("pool window") if what == "pool window" else _("kernel") if what == "kernel" else what
        )
        raise ParameterError(
            _("{what} {kh}×{kw}{dilated} does not fit {where} {padded_h}×{padded_w}").format(
                what=what,
                kh=kh,
                kw=kw,
                dilated=dilated,
                where=where,
                padded_h=padded_h,
                padded_w=padded_w,
            )
        )
    return (padded_h - span_h) // sh + 1, (padded_w - span_w) // sw + 1


def output_size(size, kernel_size, stride=1, padding: PaddingSpec = 0, dilation=1):
    """Output size of a convolution: an int for an int ``size``, an (h, w) pair for a pair.

    ``H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1``; with ``padding="same"``
    this is ``ceil(H / s)``.

    >>> output_size(7, 3, stride=2, padding="same")
    4
    >>> output_size((6, 6), 3)
    (4, 4)
    """
    scalar = _is_int(size)
    hw = pair(size, "input size")
    pads = resolve_padding(padding, hw, kernel_size, stride, dilation)
    out = conv_output_shape(hw, kernel_size, stride, pads, dilation)
    return out[0] if scalar else out


def read_mask(size: int, kernel: int, stride: int, dilation: int, before: int, after: int):
    """One byte per padded position (one axis): 1 where some window reads it, else 0.

    Window i reads ``i*s + u*d`` for u < k. Taps u whose offset ``u*d`` has the same residue
    r = u*d mod s read the same progression r + s*j, over j in [u*d // s, u*d // s + n_out):
    merging those ranges per residue gives disjoint runs, so filling the mask costs at most
    one write per padded position, whatever k·n_out is.
    """
    padded = size + before + after
    n_out = (padded - effective_kernel(kernel, dilation)) // stride + 1
    runs: dict[int, list[tuple[int, int]]] = {}
    for u in range(kernel):
        j0, r = divmod(u * dilation, stride)
        runs.setdefault(r, []).append((j0, j0 + n_out))
    mask = bytearray(padded)
    for r, ranges in runs.items():
        ranges.sort()
        start, stop = ranges[0]
        for a, b in ranges[1:] + [(None, None)]:
            if a is not None and a <= stop:
                stop = max(stop, b)
                continue
            mask[r + stride * start : r + stride * stop : stride] = b"\x01" * (stop - start)
            if a is not None:
                start, stop = a, b
    return mask


def unread_positions(size: int, kernel: int, stride: int, dilation: int, before: int, after: int):
    """Indices of the *unpadded* input (one axis) that no window reads, because flooring drops
    the last partial stride. Returns a list (often empty)."""
    return unread_summary(size, kernel, stride, dilation, before, after)[1]


def unread_summary(size, kernel, stride, dilation, before, after, limit=None):
    """(how many unpadded positions no window reads, the first ``limit`` of them; all if None)."""
    inside = read_mask(size, kernel, stride, dilation, before, after)[before : before + size]
    count = inside.count(0)
    found, at = [], inside.find(0)
    while at != -1 and (limit is None or len(found) < limit):
        found.append(at)
        at = inside.find(0, at + 1)
    return count, found


def output_size_line(axis: str, size: int, pad: tuple[int, int], k: int, s: int, d: int) -> str:
    """``H_out = ⌊(6 + 0 + 0 − 1·(3−1) − 1) / 1⌋ + 1 = 4`` for one axis."""
    out = (size + pad[0] + pad[1] - effective_kernel(k, d)) // s + 1
    return f"{axis}_out = ⌊({size} + {pad[0]} + {pad[1]} − {d}·({k}−1) − 1) / {s}⌋ + 1 = {out}"
