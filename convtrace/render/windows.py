"""Which rows and columns an elided grid shows: a window centred on where the values are
(the non-zero region's centre of mass) instead of the head and tail, for a 28 × 28 digit whose
borders are zeros."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pick(n: int, k: int) -> list[int | None]:
    """Indices to show of ``n`` when at most ``k`` slots fit; ``None`` marks the elided middle."""
    if n <= k:
        return list(range(n))
    k = max(k, 3)
    head = k // 2
    tail = k - 1 - head
    return [*range(head), None, *range(n - tail, n)]


def focus_pick(n: int, k: int, lo: int, hi: int, centre: int | None = None) -> list[int | None]:
    """Indices to show of ``n`` when at most ``k`` slots fit, centred on ``centre`` (default: the
    middle of ``lo..hi``, where the values are); ``None`` marks an elided end. A region reaching
    both ends gets ``pick``'s head and tail: a 28 × 28 digit with zero borders shows its middle,
    not its empty edges."""
    if n <= k or (lo <= 0 and hi >= n - 1):
        return pick(n, k)
    k = max(k, 3)
    span = k - 2
    centre = (lo + hi + 1) // 2 if centre is None else centre
    start = min(max(centre - span // 2, 0), n - span)
    if start == 0:
        return [*range(k - 1), None]
    if start + span >= n:
        return [None, *range(n - k + 1, n)]
    return [None, *range(start, start + span), None]


def value_region(matrix: np.ndarray) -> tuple[tuple[int, int, int], ...] | None:
    """Per axis (rows, columns): first and last index holding a non-zero (or non-finite) cell,
    and the centre of mass of |v| between them; None if every cell is 0."""
    m = np.asarray(matrix, dtype=np.float64)
    rows, cols = np.nonzero(~(m == 0))
    if rows.size == 0:
        return None
    weight = np.where(np.isfinite(m), np.abs(m), 0.0)
    top = weight.max()
    weight = weight / top if top > 0 else weight  # near float64's limit the sums would overflow
    total = weight.sum()

    def axis(found, sums):
        centre = (found.min() + found.max() + 1) // 2
        if total > 0 and np.isfinite(total):
            centre = round(float(np.arange(sums.size) @ sums) / total)
        return int(found.min()), int(found.max()), int(centre)

    return axis(rows, weight.sum(axis=1)), axis(cols, weight.sum(axis=0))


def _window_of(indices: Sequence[int | None], n: int) -> tuple[int, int] | None:
    """(first, last) when ``indices`` show one contiguous run that leaves an end out."""
    shown = [i for i in indices if i is not None]
    if not shown or len(shown) == n or shown[-1] - shown[0] + 1 != len(shown):
        return None
    return shown[0], shown[-1]
