"""What the user asked for: ``ScenarioSpec`` (CLI flags, a scenario file, a notebook's
keywords), the allowed choices, and the parsing of --padding. ``build.py`` turns a spec into
the ``Scenario`` a run needs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..core.errors import ParameterError
from ..core.geometry import (
    GEOMETRY_LIMIT,
    PaddingSpec,
    resolve_padding,
)
from ..i18n import _
from .resolved import DEFAULT_MAX_ELEMENTS

POOLS = ("max", "avg", "none")
ACTIVATIONS = ("none", "relu")
LOSSES = ("bce", "mse", "ce")
METHODS = ("both", "im2col", "loop")
DTYPES = ("float32", "float64")
BN_MODES = ("train", "eval")


@dataclass
class ScenarioSpec:
    """The user's request, before resolution. Every field has the CLI's default."""

    seed: int = 42
    batch: int = 1
    channels: int = 1
    height: int = 6
    width: int = 6
    filters: int = 2
    kernel: int | tuple[int, int] = 3
    stride: int | tuple[int, int] = 1
    padding: PaddingSpec = "valid"
    dilation: int | tuple[int, int] = 1
    pool: str = "max"
    pool_size: int | tuple[int, int] = 2
    pool_stride: int | tuple[int, int] | None = None
    activation: str = "none"
    loss: str = "bce"
    classes: int = 3
    method: str = "both"
    dtype: str = "float32"
    #: --bn-mode: a BatchNorm normalises with the batch's statistics (train) or the running ones
    bn_mode: str = "train"
    max_elements: int = DEFAULT_MAX_ELEMENTS
    # Arrays given directly (already loaded from files); None means "generate from the seed".
    input: np.ndarray | None = None
    target: np.ndarray | None = None
    sources: dict[str, str] = field(default_factory=dict)
    bug: str | None = None  # a catalog id (convtrace check --list-bugs) planted into the conv
    #: --net: the whole network as text; None builds the classroom network from the flags above
    net: str | None = None
    #: every supplied parameter, by layer name (``conv.weight``, ``bn.running_mean``) or a
    #: state dict's position (``3.weight``): the classroom network's are named conv and fc
    params: dict[str, np.ndarray] = field(default_factory=dict)
    #: options typed on the command line over a --scenario file that supplies the weights
    overridden: tuple[str, ...] = ()

    def updated(self, **changes) -> ScenarioSpec:
        """A copy with some fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    value = str(value).strip().lower()
    if value not in allowed:
        raise ParameterError(
            _("{option} must be one of {allowed}; got {value!r}").format(
                option=option, allowed=", ".join(allowed), value=value
            )
        )
    return value


def parse_padding(value) -> PaddingSpec:
    """'valid' | 'same' | 'N' | 'H,W' (from the command line or a file) -> a padding spec."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("valid", "same"):
            return text
        parts = [p.strip() for p in text.split(",")]
        # ASCII digits only: isdigit() also accepts '²', which int() refuses.
        if all(p.lstrip("-").isascii() and p.lstrip("-").isdigit() for p in parts) and len(
            parts
        ) in (1, 2):
            for p in parts:  # int() refuses more than 4300 digits with a note about Python
                if len(p) > 18:
                    shown = p if len(p) <= 40 else f"{p[:20]}… ({len(p)} digits)"
                    raise ParameterError(
                        _(
                            "--padding {shown} is more than convtrace's limit of "
                            "{GEOMETRY_LIMIT:,} for a padding"
                        ).format(shown=shown, GEOMETRY_LIMIT=GEOMETRY_LIMIT)
                    )
            nums = [int(p) for p in parts]
            value = nums[0] if len(nums) == 1 else tuple(nums)
        else:
            raise ParameterError(
                _(
                    "unknown padding {value!r}: use valid, same, a non-negative integer N, or H,W"
                ).format(value=value)
            )
    resolve_padding(value, (1, 1), 1)  # validates the form and the signs
    return value
