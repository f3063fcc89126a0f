"""The output-size arithmetic of one convolution, axis by axis, for ``convtrace shapes``."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .geometry import (
    check_limit,
    conv_output_shape,
    effective_kernel,
    pair,
    resolve_padding,
    unread_summary,
)

#: How many unread indices are listed (the count is always exact).
UNREAD_SHOWN = 12


@dataclass
class AxisGeometry:
    """One axis: sizes, padding per side, the formula with numbers, and unread positions."""

    axis: str  # "H" (rows) or "W" (columns)
    size: int
    kernel: int
    stride: int
    dilation: int
    pad_before: int
    pad_after: int
    out: int
    formula: str
    unread: list[int]  # the first UNREAD_SHOWN indices never read
    unread_count: int  # how many there are in all

    @property
    def span(self) -> int:
        return effective_kernel(self.kernel, self.dilation)


def conv_geometry(size, kernel, stride=1, padding="valid", dilation=1) -> list[AxisGeometry]:
    """Both axes of a convolution of an input ``size`` (int or (H, W)).

    H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1, likewise W.
    """
    hw = pair(size, "--size")
    k, s, d = pair(kernel, "--kernel"), pair(stride, "--stride"), pair(dilation, "--dilation")
    for values, option in ((hw, "--size"), (k, "--kernel"), (s, "--stride"), (d, "--dilation")):
        for value in values:
            check_limit(value, option)
    if not isinstance(padding, str):
        for value in pair(padding, "--padding", minimum=0):
            check_limit(value, "--padding")
    pads = resolve_padding(padding, hw, k, s, d)
    out = conv_output_shape(hw, k, s, pads, d)
    axes = []
    for i, name in enumerate(("H", "W")):
        before, after = pads[i]
        numerator = hw[i] + before + after - effective_kernel(k[i], d[i])
        formula = (
            f"{name}_out = ⌊({hw[i]} + {before} + {after} − {d[i]}·({k[i]}−1) − 1) / {s[i]}⌋ + 1"
            f" = ⌊{numerator} / {s[i]}⌋ + 1 = {out[i]}"
        )
        count, shown = unread_summary(hw[i], k[i], s[i], d[i], before, after, UNREAD_SHOWN)
        axes.append(
            AxisGeometry(
                name,
                hw[i],
                k[i],
                s[i],
                d[i],
                before,
                after,
                out[i],
                formula,
                shown,
                count,
            )
        )
    return axes


def geometry_document(axes: list[AxisGeometry], padding) -> dict:
    """JSON-ready form of :func:`conv_geometry`'s answer."""
    return {"padding": padding, "axes": [asdict(a) | {"span": a.span} for a in axes]}
