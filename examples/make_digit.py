"""Draw the handwritten-looking "7" of digit.toml, and its three 3×3 edge detectors.

    python examples/make_digit.py

writes, next to this script:

    digit.npy    (28, 28) float32, ink 0..1 on a 0 background, like an MNIST digit
    digit.csv    the same numbers as text (open it in an editor and squint: it is a 7)
    edges.json   conv.weight (3, 1, 3, 3): Sobel-x, Sobel-y, Laplacian; conv.bias zeros

Deterministic and numpy-only: each stroke is a chain of line segments, and a pixel's ink is
how close its centre lies to the nearest segment (a soft pen of radius ~0.7 pixels).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SIZE = 28
# The 7's strokes, as (row, column) points joined by straight segments: a slightly rising top
# bar, then a long stroke that leans left and bends a little, as a hand would draw it.
STROKES = [
    [(6.5, 6.0), (6.0, 13.0), (5.5, 21.0)],
    [(5.5, 21.0), (11.0, 18.0), (17.0, 14.5), (23.0, 12.5)],
]
PEN = 0.7  # radius of full ink, in pixels
EDGES = {
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],  # vertical edges (left-right change)
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],  # horizontal edges (top-bottom change)
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],  # blobs and corners, any direction
}


def distance_to_segment(points: np.ndarray, a, b) -> np.ndarray:
    """Distance from each (row, col) in ``points`` (…, 2) to the segment a–b."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ab = b - a
    t = np.clip(((points - a) @ ab) / (ab @ ab), 0.0, 1.0)
    nearest = a + t[..., None] * ab
    return np.linalg.norm(points - nearest, axis=-1)


def draw_seven() -> np.ndarray:
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    centres = np.stack([rows, cols], axis=-1).astype(float)
    distance = np.full((SIZE, SIZE), np.inf)
    for stroke in STROKES:
        for a, b in zip(stroke, stroke[1:], strict=False):
            distance = np.minimum(distance, distance_to_segment(centres, a, b))
    ink = np.clip(PEN + 1.0 - distance, 0.0, 1.0)  # 1 inside the pen, fading over one pixel
    return np.round(ink, 2).astype(np.float32)


def main() -> None:
    here = Path(__file__).resolve().parent
    digit = draw_seven()
    np.save(here / "digit.npy", digit)
    np.savetxt(here / "digit.csv", digit, fmt="%.2f", delimiter=",")
    # One filter per line group, one kernel row per line: readable and editable by hand.
    filters = ",\n".join(
        f"  [[{', '.join(json.dumps(row) for row in kernel)}]]" for kernel in EDGES.values()
    )
    text = (
        '{\n "conv.weight": [\n' + filters + '\n ],\n "conv.bias": '
        + json.dumps([0.0] * len(EDGES)) + "\n}\n"
    )  # fmt: skip
    (here / "edges.json").write_text(text, encoding="utf-8")
    for row in digit:
        print("".join("#" if v > 0.5 else "+" if v > 0 else "." for v in row))


if __name__ == "__main__":
    main()
