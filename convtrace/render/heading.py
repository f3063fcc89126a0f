"""The heading above a run: the network in one line, then where its numbers came from.

``x 1×1×6×6 · conv 2×3×3 stride 1 valid · max-pool 2×2 · bce · y = 0 · float32 · seed 42``
and, when files were given, ``from input slide.csv · conv.weight, conv.bias student.pt · …``.
"""

from __future__ import annotations

import numpy as np

from ..i18n import _
from .tensors import format_number

#: Targets with more values than this are summarised (``y: 10 class indices``).
TARGET_SHOWN = 4


def target_text(scenario) -> str:
    """``y = 0``, ``y = [0, 2, 1]``, ``y from t.csv`` or ``y: 10 class indices``."""
    source = scenario.sources.get("target")
    if source and not source.startswith("--target"):
        return _("y from {source}").format(source=source)
    y = np.asarray(scenario.target)
    if y.size and np.all(y == y.flat[0]):
        return f"y = {format_number(y.flat[0], 4)}"
    if y.size <= TARGET_SHOWN:
        return "y = [" + ", ".join(format_number(v, 4) for v in y.flat) + "]"
    if scenario.loss == "ce":
        return _("y: {count} class indices").format(count=y.size)
    return _("y: {count} values").format(count=y.size)


def network_line(s) -> str:
    """The network's shape and settings in one line."""
    n, c, h, w = s.x.shape
    if s.net is not None:  # a --net network: as it was written (and how its bn normalises)
        mode = f" · bn {s.bn_mode}" if getattr(s, "has_bn", False) else ""
        return (
            f"x {n}×{c}×{h}×{w} · {s.net}{mode} · {s.loss} · {target_text(s)} · {s.dtype} · "
            + _("seed {seed}").format(seed=s.seed)
        )
    pad = s.padding if isinstance(s.padding, str) else _("padding {pad}").format(pad=s.padding)
    size = f"{s.pool_size[0]}×{s.pool_size[1]}"
    pool = {"none": _("no pool"), "max": _("max-pool {size}"), "avg": _("avg-pool {size}")}.get(
        s.pool, f"{s.pool}-pool {{size}}"
    )
    stride = _("stride {stride}").format(stride=s.stride[0])
    return (
        f"x {n}×{c}×{h}×{w} · conv {s.filters}×{s.kernel[0]}×{s.kernel[1]} {stride} "
        f"{pad} · {pool.format(size=size)} · {s.loss} · {target_text(s)} · {s.dtype} · "
        + _("seed {seed}").format(seed=s.seed)
    ) + (" · " + _("bug {bug}").format(bug=s.bug) if s.bug else "")


def sources_line(s) -> str | None:
    """Which files gave which arrays (``from input slide.csv · conv.weight student.pt``), or None
    when every number was generated from the seed."""
    by_file: dict[str, list[str]] = {}
    for key, source in s.sources.items():
        if key in ("scenario", "target") or source.startswith("--target"):
            continue
        label = source.removesuffix(f" ({key})")
        by_file.setdefault(label, []).append(key)
    parts = [f"{', '.join(keys)} {label}" for label, keys in by_file.items()]
    target = s.sources.get("target")
    if target and not target.startswith("--target"):
        parts.append(_("target {source}").format(source=target))
    if "scenario" in s.sources:
        parts.append(f"--scenario {s.sources['scenario']}")
    return _("from {sources}").format(sources=" · ".join(parts)) if parts else None


def scenario_heading(s) -> str:
    """The heading: the network line, and the sources line when files were given."""
    sources = sources_line(s)
    return network_line(s) + (f"\n{sources}" if sources else "")
