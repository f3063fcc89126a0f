"""Thumbnail internals: block sizes, max-|v| reduction, shade levels, caption and frame."""

from __future__ import annotations

import numpy as np
import pytest

from convtrace.render.thumbnail import (
    BAD,
    BLANK,
    SHADES,
    Thumbnail,
    block_shape,
    reduce_blocks,
    shade,
)
from tests.render_text import render


@pytest.mark.parametrize(
    ("shape", "room", "expected"),
    [
        ((5, 7), (14, 24), (1, 1)),  # fits: one value per cell
        ((28, 28), (14, 14), (2, 2)),
        ((28, 28), (16, 18), (2, 2)),  # square blocks keep a digit's proportions
        ((200, 200), (14, 19), (15, 15)),
        ((30, 60), (16, 24), (3, 3)),
        ((9, 676), (14, 18), (1, 38)),  # elongated: square blocks would leave 1 row
        ((4, 169), (16, 17), (1, 10)),
    ],
)
def test_block_shape(shape, room, expected):
    assert block_shape(*shape, *room) == expected
    fr, fc = expected
    assert -(-shape[0] // fr) <= room[0] and -(-shape[1] // fc) <= room[1]


def test_reduce_blocks_keeps_the_largest_magnitude_and_its_sign():
    a = np.array([[1.0, -3.0, 2.0], [2.0, 0.0, 0.5], [0.0, 0.0, -1.0]])
    assert reduce_blocks(a, 2, 2).tolist() == [[-3.0, 2.0], [0.0, -1.0]]
    assert reduce_blocks(a, 1, 1).tolist() == a.tolist()
    bad = reduce_blocks(np.array([[1.0, np.nan], [5.0, 2.0]]), 2, 2)
    assert np.isnan(bad[0, 0])  # NaN wins its block: it must not hide


def test_shade_levels_are_quarters_of_the_scale():
    assert shade(0.0, 4.0) == (BLANK, "")
    assert shade(0.5, 4.0) == ("░░", "ct.pos")
    assert shade(1.0, 4.0) == ("░░", "ct.pos")
    assert shade(1.5, 4.0) == ("▒▒", "ct.pos")
    assert shade(-3.0, 4.0) == ("▓▓", "ct.neg")
    assert shade(-4.0, 4.0) == ("██", "ct.neg")
    # diverging: the same magnitude, opposite signs, different colours
    assert shade(30.0, 30.0)[1] != shade(-30.0, 30.0)[1]
    assert shade(float("inf"), 4.0) == (BAD, "ct.bad")
    assert shade(float("nan"), 4.0) == (BAD, "ct.bad")
    assert shade(1e-30, 4.0)[0] == SHADES[0]  # tiny but not zero: not blank


def test_standalone_thumbnail_caption_and_frame():
    a = np.zeros((6, 6))
    a[2:4, 1:5] = [[1, 2, 3, 4], [-1, -2, -3, -4]]
    lines = [line.rstrip() for line in render(Thumbnail(a)).splitlines()]
    assert lines[0] == "thumbnail: 1 cell = 1 value · |v|: ░≤1  ▒≤2  ▓≤3  █≤4 · + blue, − red"
    assert lines[1:] == [
        "┌────────────┐",
        "│            │",
        "│            │",
        "│  ░░▒▒▓▓██  │",
        "│  ░░▒▒▓▓██  │",
        "│            │",
        "│            │",
        "└────────────┘",
    ]


def test_thumbnail_caption_for_zeros_and_non_finite_values():
    assert "all 0" in render(Thumbnail(np.zeros((3, 3))))
    text = render(Thumbnail(np.array([[1.0, np.inf], [0.0, 2.0]])))
    assert "!! nan/inf" in text and "│▒▒!!│\n│  ██│" in text  # the scale is the finite max
    assert "1 cell = 3×3 values (max |v|)" in render(Thumbnail(np.ones((60, 60))), width=44)
