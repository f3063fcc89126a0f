"""The output-size arithmetic of one transposed convolution, axis by axis, for
``convtrace shapes --transposed``: the input is the small map, the output the big one."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..i18n import _
from .errors import ParameterError
from .geometry import check_limit, pair
from .layers.conv_transpose import transposed_size
from .layers.conv_transpose_stages import transposed_size_line


@dataclass
class TransposedAxis:
    """One axis: the input size, the options, the formula with numbers and the output size;
    ``conv_back``: the size a convolution with the same options maps the output back to."""

    axis: str
    size: int
    kernel: int
    stride: int
    padding: int
    output_padding: int
    dilation: int
    out: int
    formula: str
    conv_back: int


def transposed_geometry(size, kernel, stride=1, padding=0, output_padding=0,
                        dilation=1) -> list[TransposedAxis]:  # fmt: skip
    """Both axes of ConvTranspose2d on an input ``size`` (int or (H, W)):
    ``H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1``."""
    hw, k, s = pair(size, "--size"), pair(kernel, "--kernel"), pair(stride, "--stride")
    d = pair(dilation, "--dilation")
    p = pair(padding, "--padding", minimum=0)
    op = pair(output_padding, "--output-padding", minimum=0)
    for values, option in ((hw, "--size"), (k, "--kernel"), (s, "--stride"), (d, "--dilation"),
                           (p, "--padding"), (op, "--output-padding")):  # fmt: skip
        for value in values:
            check_limit(value, option)
    axes = []
    for a, name in enumerate(("H", "W")):
        if op[a] >= max(s[a], d[a]):
            raise ParameterError(
                _(
                    "--output-padding {op} must be smaller than the stride {s} or the dilation {d}"
                ).format(op=op[a], s=s[a], d=d[a])
            )
        out = transposed_size(hw[a], k[a], s[a], p[a], op[a], d[a])
        line = transposed_size_line(name, hw[a], k[a], s[a], p[a], op[a], d[a])
        if out < 1:
            raise ParameterError(
                _("{line}: the padding removes the whole output").format(line=line)
            )
        back = (out + 2 * p[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1
        axes.append(TransposedAxis(name, hw[a], k[a], s[a], p[a], op[a], d[a], out, line, back))
    return axes


def transposed_document(axes: list[TransposedAxis]) -> dict:
    """JSON-ready form of :func:`transposed_geometry`'s answer."""
    return {"transposed": True, "axes": [asdict(a) for a in axes]}
