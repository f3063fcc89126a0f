"""The animation frames of ``convtrace live`` drawn as Rich renderables (see ``frames.py``).

conv: the padded input with the window marked ``[v]``, the kernel beside it, the products, the
running sum term by term, and the output filling in (``·`` = not computed yet). pool: the
window on the pool input, its max / mean, the output filling in. col2im: the window's gradient
dH·W[f], the gradient accumulated into the input so far, and how many windows touched each pixel.
Captions go through ``_()`` as they are drawn; the tensors' names and indices are math and stay.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text

from ..i18n import _
from ..render.tensors import Flow
from .frames import Col2imFrame, ConvFrame, Geometry, PoolFrame
from .views import cell_grid, num

#: Channels drawn per frame (the rest are summarised in a line).
CHANNELS_SHOWN = 2
#: Partial sums listed in the running-sum line before eliding the middle.
RUNNING_SHOWN = 12


def _padding_mask(shape, pads) -> np.ndarray:
    (pt, pb), (pl, pr) = pads
    mask = np.ones(shape, bool)
    mask[pt : shape[0] - pb, pl : shape[1] - pr] = False
    return mask


def _labels(size: int, before: int) -> list[int]:
    return [r - before for r in range(size)]


def _tap_mask(shape, taps) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for r, q in taps:
        mask[r, q] = True
    return mask


def _geometry_words(g: Geometry) -> str:
    (sh, sw), (dh, dw), ((pt, pb), (pl, pr)) = g.stride, g.dilation, g.pads
    if pt or pb or pl or pr:
        pads = _("padding {pt},{pb},{pl},{pr} (dim)").format(pt=pt, pb=pb, pl=pl, pr=pr)
    else:
        pads = _("no padding")
    return _("stride {sh}×{sw} · dilation {dh}×{dw} · {pads}").format(
        sh=sh, sw=sw, dh=dh, dw=dw, pads=pads
    )


def progress(position: int, total: int, playing: bool, speed: float) -> Text:
    state = _("▶ playing") if playing else _("⏸ paused")
    line = _("window {position}/{total} · {state} · {speed:g} windows/s").format(
        position=position, total=total, state=state, speed=speed
    )
    return Text(line, style="ct.dim")


def running_line(running: np.ndarray, bias: float | None, value: float, precision: int) -> Text:
    """``running sum 6 → 11 → … → -8, + b 1 = -7``."""
    shown = [num(v, precision) for v in running]
    if len(shown) > RUNNING_SHOWN:
        half = RUNNING_SHOWN // 2
        shown = [*shown[:half], "…", *shown[-half:]]
    line = Text(_("running sum") + " ", style="ct.dim")
    line.append(" → ".join(shown))
    if bias is not None:
        line.append(f", + b {num(bias, precision)}")
    line.append(" = ")
    line.append(num(value, precision), style="ct.big")
    return line


def conv_view(frame: ConvFrame, padded: np.ndarray, g: Geometry, precision: int = 4):
    """padded: x_pad (N, C, H_pad, W_pad)."""
    n, f, i, j = frame.index
    (pt, _pb), (pl, _pr) = g.pads
    xp = padded[n]
    mask = _tap_mask(xp.shape[1:], frame.taps)
    dim = _padding_mask(xp.shape[1:], g.pads)
    rows, cols = _labels(xp.shape[1], pt), _labels(xp.shape[2], pl)
    name = "x_pad" if dim.any() else "x"
    parts: list[RenderableType] = [
        Text(
            _("{cell}: the window at ({i}·s, {j}·s) · {geometry}").format(
                cell=f"H[n={n}, f={f}, i={i}, j={j}]", i=i, j=j, geometry=_geometry_words(g)
            )
        )
    ]
    out = frame.output[n, f]
    marks = np.zeros(out.shape, bool)
    marks[i, j] = True
    filling = cell_grid(
        out,
        precision,
        label=_("{grid} filling in").format(grid=f"H[n={n}, f={f}]"),
        marks=marks,
        blank=~frame.filled[n, f],
    )
    for c in range(min(xp.shape[0], CHANNELS_SHOWN)):
        grids = [
            cell_grid(
                xp[c],
                precision,
                label=_("{grid}  [v] = window").format(grid=f"{name}[n={n}, c={c}]"),
                marks=mask,
                dim=dim,
                row_labels=rows,
                col_labels=cols,
            ),
            cell_grid(frame.kernel[c], precision, label=f"W[f={f}, c={c}]"),
            cell_grid(
                frame.products[c], precision, label=_("products {X}·{W}").format(X="x", W="W")
            ),
        ]
        parts.append(Flow(grids + ([filling] if c == 0 else []), gap=3))
    if xp.shape[0] > CHANNELS_SHOWN:
        parts.append(
            Text(
                _("… and {count} more channels in the sum").format(
                    count=xp.shape[0] - CHANNELS_SHOWN
                ),
                style="ct.dim",
            )
        )
    parts.append(running_line(frame.running, frame.bias, frame.value, precision))
    return Group(*parts)


def pool_view(
    frame: PoolFrame, a_map: np.ndarray, g: Geometry, op: str, source: str, precision: int = 4
):
    """a_map: the pool input (N, C, H, W); source: its stage name."""
    n, c, i, j = frame.index
    mask = _tap_mask(a_map.shape[2:], frame.cells)
    values = ", ".join(num(v, precision) for v in frame.values)
    if op == "max":
        r, q = frame.cells[frame.chosen]
        what = Text(f"max({values}) = ")
        what.append(num(frame.value, precision), style="ct.big")
        chosen = _("   chosen: {cell} (the first maximum on ties)")
        what.append(chosen.format(cell=f"{source}[{n},{c},{r},{q}]"))
    else:
        what = Text(f"mean({values}) = ")
        what.append(num(frame.value, precision), style="ct.big")
    (kh, kw), (sh, sw) = g.kernel, g.stride
    out = frame.output[n, c]
    marks = np.zeros(out.shape, bool)
    marks[i, j] = True
    return Group(
        Text(
            _("{cell}: the {kh}×{kw} window at ({i}·{sh}, {j}·{sw})").format(
                cell=f"P[n={n}, c={c}, i={i}, j={j}]", kh=kh, kw=kw, i=i, j=j, sh=sh, sw=sw
            )
        ),
        Flow(
            [
                cell_grid(
                    a_map[n, c],
                    precision,
                    label=_("{grid}  [v] = window").format(grid=f"{source}[n={n}, c={c}]"),
                    marks=mask,
                ),
                cell_grid(
                    out,
                    precision,
                    label=_("{grid} filling in").format(grid=f"P[n={n}, c={c}]"),
                    marks=marks,
                    blank=~frame.filled[n, c],
                ),
            ],
            gap=3,
        ),
        what,
    )


def col2im_view(frame: Col2imFrame, g: Geometry, channel: int = 0, precision: int = 4):
    """Window (n, f, i, j) adds dH·W[f] into the input; the accumulated gradient of ``channel``
    and the touch counts (how many windows have added into each pixel: the overlaps)."""
    n, f, i, j = frame.index
    (pt, _pb), (pl, _pr) = g.pads
    shape = frame.touches.shape
    mask = _tap_mask(shape, frame.taps)
    dim = _padding_mask(shape, g.pads)
    rows, cols = _labels(shape[0], pt), _labels(shape[1], pl)
    name = "∂L/∂x_pad" if dim.any() else "∂L/∂x"
    line = Text(
        _("window (i={i}, j={j}) of filter f={f}: {grad} = ").format(
            i=i, j=j, f=f, grad=f"∂L/∂H[{n},{f},{i},{j}]"
        )
    )
    line.append(num(frame.g, precision), style="ct.big")
    line.append(
        _(" times {W} is added into the window · {geometry}").format(
            W=f"W[f={f}]", geometry=_geometry_words(g)
        )
    )
    return Group(
        line,
        Flow(
            [
                cell_grid(
                    frame.contribution[channel],
                    precision,
                    label=_("added: {term}").format(
                        term=f"{num(frame.g, precision)}·W[{f},{channel}]"
                    ),
                ),
                cell_grid(
                    frame.grad[channel],
                    precision,
                    label=_("{grid} so far").format(grid=f"{name}[n={n}, c={channel}]"),
                    marks=mask,
                    dim=dim,
                    row_labels=rows,
                    col_labels=cols,
                ),
                cell_grid(
                    frame.touches,
                    precision,
                    label=_("windows touching each pixel"),
                    marks=mask,
                    dim=dim,
                    row_labels=rows,
                    col_labels=cols,
                ),
            ],
            gap=2,
        ),
        Text(
            _(
                "a pixel under k overlapping windows adds k gradients (col2im); with F filters "
                "each window is counted once per filter"
            ),
            style="ct.dim",
        ),
    )


def scatter_view(frame: Col2imFrame, g: Geometry, f: int, precision: int, source: str,
                 target: str):  # fmt: skip
    """A transposed conv's input pixel (n, c, i, j) adds x·Wt[c] onto the output: the copy for
    output channel ``f``, the output of channel f so far (bias not yet added) and how many
    kernel copies have landed on each cell. ``source``/``target``: the stages that are the
    input (the small map) and the output (the big one)."""
    n, c, i, j = frame.index
    shape = frame.touches.shape
    mask = _tap_mask(shape, frame.taps)
    dim = _padding_mask(shape, g.pads)
    (pt, _pb), (pl, _pr) = g.pads
    rows, cols = _labels(shape[0], pt), _labels(shape[1], pl)
    line = Text(_("input pixel (i={i}, j={j}) of channel c={c}: {x} = ").format(
        i=i, j=j, c=c, x=f"{source}[{n},{c},{i},{j}]"))  # fmt: skip
    line.append(num(frame.g, precision), style="ct.big")
    line.append(_(" times {W} lands on the output · {geometry}").format(
        W=f"Wt[c={c}]", geometry=_geometry_words(g)))  # fmt: skip
    return Group(
        Text(
            _("input: {source} (the small map) → output: {target} (the big map)").format(
                source=source, target=target
            ),
            style="ct.label",
        ),  # fmt: skip
        line,
        Flow(
            [
                cell_grid(
                    frame.contribution[f],
                    precision,
                    label=_("the copy: {term}").format(
                        term=f"{num(frame.g, precision)}·Wt[{c},{f}]"
                    ),
                ),  # fmt: skip
                cell_grid(
                    frame.grad[f],
                    precision,
                    marks=mask,
                    dim=dim,
                    row_labels=rows,
                    col_labels=cols,
                    label=_("{grid} so far, before the bias").format(
                        grid=f"{target}[n={n}, f={f}]"
                    ),
                ),  # fmt: skip
                cell_grid(
                    frame.touches,
                    precision,
                    marks=mask,
                    dim=dim,
                    row_labels=rows,
                    col_labels=cols,
                    label=_("kernel copies landing on each cell"),
                ),  # fmt: skip
            ],
            gap=2,
        ),
        Text(
            _(
                "overlapping copies add up: a cell under k copies sums k terms per input "
                "channel (explain lists them); grey cells are the padding, cropped away"
            ),
            style="ct.dim",
        ),
    )
