"""Heat-map thumbnails: a whole 2-D slice as a small picture of shade glyphs.

A grid of numbers with an elided middle hides the shape of a digit or of a feature map; the
thumbnail shows all of it. Each cell is two characters wide (so it is about as wide as it is tall)
and its glyph carries |v| by itself, in four steps of the tensor's largest magnitude: ``░░`` ≤ ¼,
``▒▒`` ≤ ½, ``▓▓`` ≤ ¾, ``██`` ≤ max, and exact zeros stay blank. That works with ``NO_COLOR`` and
on light or dark terminals; with colour the scale diverges, as in the numeric grid: positive cells
blue (``ct.pos``), negative ones red (``ct.neg``), and the caption says so when the slice holds
negative values. Slices larger than the room are reduced by blocks, each cell keeping the value of
largest magnitude in its block (thin strokes survive, and + next to − does not cancel out as it
would in an average). Blocks are square, keeping the picture's proportions, unless that would
flatten an elongated slice (a row of im2col columns) to fewer than ``MIN_SIDE`` cells across: then
each axis is reduced on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

from ..i18n import _

#: Glyphs by level 1–4 of |v| / max |v| (quarters); zero is blank, NaN / ±Inf ``!!``.
SHADES = ("░░", "▒▒", "▓▓", "██")
BLANK = "  "
BAD = "!!"
#: At most this many cells down and across, whatever the room.
MAX_ROWS = 24
MAX_COLS = 24
#: Square blocks unless an axis would shrink to fewer cells than this.
MIN_SIDE = 4


def block_shape(rows: int, cols: int, max_rows: int, max_cols: int) -> tuple[int, int]:
    """Values per cell (down, across) so that a rows × cols slice fits max_rows × max_cols."""
    fr = math.ceil(rows / max(max_rows, 1))
    fc = math.ceil(cols / max(max_cols, 1))
    f = max(fr, fc)
    if f == 1:
        return 1, 1
    if min(math.ceil(rows / f), math.ceil(cols / f)) < min(MIN_SIDE, rows, cols):
        return fr, fc
    return f, f


def reduce_blocks(matrix: np.ndarray, fr: int, fc: int) -> np.ndarray:
    """Each fr × fc block's value of largest |v| (sign kept; NaN / ±Inf win), as a 2-D array."""
    x = np.asarray(matrix, dtype=np.float64)
    if (fr, fc) == (1, 1):
        return x
    rows, cols = x.shape
    br, bc = math.ceil(rows / fr), math.ceil(cols / fc)
    padded = np.zeros((br * fr, bc * fc))
    padded[:rows, :cols] = x
    blocks = padded.reshape(br, fr, bc, fc).transpose(0, 2, 1, 3).reshape(br, bc, fr * fc)
    keys = np.where(np.isfinite(blocks), np.abs(blocks), np.inf)
    return np.take_along_axis(blocks, keys.argmax(axis=-1)[..., None], axis=-1)[..., 0]


def shade(value: float, scale: float) -> tuple[str, str]:
    """The glyph pair and style of one cell whose tensor's largest magnitude is ``scale``."""
    if not math.isfinite(value):
        return BAD, "ct.bad"
    if value == 0 or not scale:
        return BLANK, ""
    level = min(4, max(1, math.ceil(4 * abs(value) / scale)))
    # diverging: blue for +, red for − (the glyph carries |v|)
    return SHADES[level - 1], "ct.pos" if value > 0 else "ct.neg"


class Thumbnail:
    """A framed heat map of a whole 2-D ``matrix``, at most ``max_rows`` × ``max_cols`` cells.

    scale: the magnitude drawn ``██`` (default: the slice's largest finite |v|); pass the whole
    tensor's so that its slices share one scale. fmt: formats the legend's thresholds.
    """

    def __init__(
        self,
        matrix: np.ndarray,
        scale: float | None = None,
        *,
        fmt: Callable[[float], str] = lambda v: f"{v:.2g}",
        max_rows: int = MAX_ROWS,
        max_cols: int = MAX_COLS,
    ):
        self.matrix = np.asarray(matrix)
        if scale is None:
            finite = np.abs(self.matrix[np.isfinite(self.matrix)])
            scale = float(finite.max()) if finite.size else 0.0
        self.scale = scale
        self.fmt = fmt
        self.max_rows = max_rows
        self.max_cols = max_cols

    def blocks(self, max_rows: int, max_cols: int) -> tuple[int, int]:
        """Values per cell (down, across) within max_rows × max_cols cells (capped by MAX_*)."""
        rows, cols = self.matrix.shape
        return block_shape(rows, cols, min(max_rows, MAX_ROWS), min(max_cols, MAX_COLS))

    def width(self, max_rows: int, max_cols: int) -> int:
        """Columns of text of the framed picture."""
        return 2 * math.ceil(self.matrix.shape[1] / self.blocks(max_rows, max_cols)[1]) + 2

    def caption(self, max_rows: int, max_cols: int) -> Text:
        """``thumbnail: 1 cell = 2×2 values (max |v|) · ░≤0.25  ▒≤0.5  ▓≤0.75  █≤1``."""
        fr, fc = self.blocks(max_rows, max_cols)
        each = "1 value" if fr == fc == 1 else f"{fr}×{fc} values (max |v|)"
        text = Text(f"thumbnail: 1 cell = {each}", style="ct.dim")
        if self.scale:
            # One word per step ("▒≤0.5"), so that a wrapped legend keeps each glyph by its bound.
            text.append(" · |v|:" if fr == fc == 1 else " ·", style="ct.dim")
            for level, glyphs in enumerate(SHADES, 1):
                text.append("  " if level > 1 else " ")
                text.append(glyphs[0])
                text.append(f"≤{self.fmt(self.scale * level / 4)}", style="ct.dim")
            finite = self.matrix[np.isfinite(self.matrix)]
            if (finite < 0).any():
                text.append(" · ", style="ct.dim")
                text.append("+", style="ct.pos.3")
                text.append(_(" blue, "), style="ct.dim")
                text.append("−", style="ct.neg.3")
                text.append(_(" red"), style="ct.dim")
        else:
            text.append(" · all 0", style="ct.dim")
        if not np.isfinite(self.matrix).all():
            text.append(f" · {BAD} nan/inf", style="ct.dim")
        return text

    def lines(self, max_rows: int, max_cols: int) -> list[Text]:
        """The picture in a frame, one Text per line."""
        cells = reduce_blocks(self.matrix, *self.blocks(max_rows, max_cols))
        edge = "─" * (2 * cells.shape[1])
        out = [Text(f"┌{edge}┐", style="ct.axis", no_wrap=True, overflow="crop")]
        for row in cells:
            line = Text("│", style="ct.axis", no_wrap=True, overflow="crop")
            for value in row:
                line.append(*shade(float(value), self.scale))
            line.append("│", style="ct.axis")
            out.append(line)
        out.append(Text(f"└{edge}┘", style="ct.axis", no_wrap=True, overflow="crop"))
        return out

    def _size(self, width: int) -> tuple[int, int]:
        return self.max_rows, max(1, min(self.max_cols, (width - 2) // 2))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(4, min(self.width(*self._size(options.max_width)), options.max_width))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        size = self._size(options.max_width)
        yield self.caption(*size)
        yield from self.lines(*size)
