"""The catalog ``convtrace check`` names a student's mistake from.

The planted bugs (``convtrace run --bug``) are its first entries; they live in
``core/layers/bugs.py``, below tracing/ and scenario/, so that ``--bug`` does not import check/.
"""

from __future__ import annotations

from ..core.layers.bugs import (
    BUGS,
    CATALOG,
    Bug,
    BuggyConv,
    BuggyConv2D,
    Variant,
    conv_backward,
    conv_forward,
    get_bug,
    variant_pads,
)

__all__ = ["BUGS", "CATALOG", "Bug", "BuggyConv", "BuggyConv2D", "Variant", "conv_backward",
           "conv_forward", "get_bug", "variant_pads"]  # fmt: skip
