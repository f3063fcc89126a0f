"""Scenario: everything one run needs, resolved and validated once.

``ScenarioSpec`` holds what the user asked for (CLI flags, a scenario file); ``build_scenario``
turns it into a ``Scenario``: arrays in the chosen dtype plus hyper-parameters. Nothing downstream
re-validates user input.

The seeded generator (the course's worked example for ``--seed 42`` and the defaults)::

    torch.manual_seed(seed)
    x      = torch.randint(1, 10, (N, C, H, W))        # 1. the input, integers 1..9
    conv_w = torch.randint(-1, 2, (F, C, kh, kw))      # 2. the filters, integers -1..1
    target = torch.randint(0, classes, (N,))           # 3. only for --loss ce
    fc_w   = torch.randint(-1, 2, (classes, in))       # 4. only for --loss ce
    conv_b = ones(F);  fc_b = ones(out);  fc_w = ones(1, in) for bce and mse
    target = zeros(N, 1) for bce and mse (y = 0)

(With all-ones FC weights every class would get the same logit and cross-entropy's gradient
would be exactly zero, so ce draws its FC weights from the generator too.)

The FC layer's ``in`` follows from the shapes; ``out`` is 1 (bce, mse) or ``classes`` (ce).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..core.errors import ParameterError, ShapeError
from ..core.geometry import (
    GEOMETRY_LIMIT,
    PaddingSpec,
    _is_int,
    check_limit,
    conv_output_shape,
    pair,
    positive_int,
    resolve_padding,
)

POOLS = ("max", "avg", "none")
ACTIVATIONS = ("none", "relu")
LOSSES = ("bce", "mse", "ce")
METHODS = ("both", "im2col", "loop")
DTYPES = ("float32", "float64")
DEFAULT_MAX_ELEMENTS = 10_000_000


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
    max_elements: int = DEFAULT_MAX_ELEMENTS
    # Arrays given directly (already loaded from files); None means "generate from the seed".
    input: np.ndarray | None = None
    conv_weight: np.ndarray | None = None
    conv_bias: np.ndarray | None = None
    fc_weight: np.ndarray | None = None
    fc_bias: np.ndarray | None = None
    target: np.ndarray | None = None
    sources: dict[str, str] = field(default_factory=dict)
    bug: str | None = None  # a catalog id (convtrace check --list-bugs) planted into the conv

    def updated(self, **changes) -> ScenarioSpec:
        """A copy with some fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass
class Scenario:
    """A resolved run: arrays (in ``dtype``) and hyper-parameters, all consistent.

    x: (N, C, H, W); conv_weight: (F, C, kh, kw); conv_bias: (F,); fc_weight: (out, in);
    fc_bias: (out,); target: (N, out) for bce/mse, (N,) class indices for ce.
    pads: ((top, bottom), (left, right)), resolved from ``padding``.
    """

    x: np.ndarray
    conv_weight: np.ndarray
    conv_bias: np.ndarray
    fc_weight: np.ndarray
    fc_bias: np.ndarray
    target: np.ndarray
    stride: tuple[int, int]
    padding: PaddingSpec
    pads: tuple[tuple[int, int], tuple[int, int]]
    dilation: tuple[int, int]
    pool: str
    pool_size: tuple[int, int]
    pool_stride: tuple[int, int]
    activation: str
    loss: str
    method: str
    dtype: str
    seed: int
    sources: dict[str, str] = field(default_factory=dict)
    bug: str | None = None
    #: the run's element budget (--max-elements), which the --json document is held to too
    max_elements: int = DEFAULT_MAX_ELEMENTS

    @property
    def kernel(self) -> tuple[int, int]:
        return tuple(self.conv_weight.shape[2:])

    @property
    def filters(self) -> int:
        return self.conv_weight.shape[0]

    def describe(self) -> dict:
        """JSON-ready summary of the hyper-parameters and where each array came from."""
        n, c, h, w = self.x.shape
        return {
            "seed": self.seed,
            "input_shape": [n, c, h, w],
            "filters": self.filters,
            "kernel": list(self.kernel),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, (str, int)) else list(self.padding),
            "pads": [list(p) for p in self.pads],
            "dilation": list(self.dilation),
            "pool": self.pool,
            "pool_size": list(self.pool_size),
            "pool_stride": list(self.pool_stride),
            "activation": self.activation,
            "loss": self.loss,
            "fc": list(self.fc_weight.shape),
            "method": self.method,
            "dtype": self.dtype,
            "sources": dict(self.sources),
            "bug": self.bug,
        }


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    value = str(value).strip().lower()
    if value not in allowed:
        raise ParameterError(f"{option} must be one of {', '.join(allowed)}; got {value!r}")
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
                        f"--padding {shown} is more than convtrace's limit of {GEOMETRY_LIMIT:,} "
                        "for a padding"
                    )
            nums = [int(p) for p in parts]
            value = nums[0] if len(nums) == 1 else tuple(nums)
        else:
            raise ParameterError(
                f"unknown padding {value!r}: use valid, same, a non-negative integer N, or H,W"
            )
    resolve_padding(value, (1, 1), 1)  # validates the form and the signs
    return value


def _generate(spec: ScenarioSpec, dtype, in_features: int | None) -> dict[str, np.ndarray]:
    """The seeded integers, drawn from torch's generator in the documented order."""
    import torch  # the classroom example is defined by torch's generator

    kh, kw = pair(spec.kernel, "--kernel")
    gen = torch.Generator().manual_seed(spec.seed)
    shape = (spec.batch, spec.channels, spec.height, spec.width)
    out = {}
    # Draw in a fixed order even when a value is supplied, so the other draws never shift.
    x = torch.randint(1, 10, shape, generator=gen)
    w_shape = (spec.filters, spec.channels, kh, kw)
    w = torch.randint(-1, 2, w_shape, generator=gen)
    out["input"] = x.numpy().astype(dtype)
    out["conv_weight"] = w.numpy().astype(dtype)
    if spec.loss == "ce":
        out["target"] = torch.randint(0, spec.classes, (spec.batch,), generator=gen).numpy()
        if in_features is not None:
            fc_w = torch.randint(-1, 2, (spec.classes, in_features), generator=gen)
            out["fc_weight"] = fc_w.numpy().astype(dtype)
    return out


def _with_supplied_shapes(spec: ScenarioSpec, loss: str) -> ScenarioSpec:
    """Counts (N, C, H, W, F, kernel, classes) follow the arrays the user supplied.

    A count that was also set to a non-default value and disagrees is an error, so a file is
    never silently overruled (nor silently overrules an explicit flag).
    """
    from .validation import array_name, check_supplied

    src, defaults = spec.sources, ScenarioSpec()
    found: dict[str, tuple] = {}  # field -> (value from the array, name of the array)
    x_name = array_name(src, "input", "the input")
    if spec.input is not None:
        x = check_supplied(spec.input, x_name, 4, "(N, C, H, W)")
        for name, value in zip(("batch", "channels", "height", "width"), x.shape, strict=True):
            found[name] = (value, x_name, x.shape)
    if spec.conv_weight is not None:
        w_name = array_name(src, "conv.weight", "conv.weight")
        kh, kw = pair(spec.kernel, "--kernel")
        c = found["channels"][0] if "channels" in found else spec.channels
        expected = f"(F, C, kh, kw), here ({spec.filters}, {c}, {kh}, {kw})"
        w = check_supplied(spec.conv_weight, w_name, 4, expected)
        if spec.input is not None and x.shape[1] != w.shape[1]:
            raise ShapeError(
                f"{x_name} has {x.shape[1]} channel(s) (shape {x.shape}) but {w_name} expects "
                f"{w.shape[1]} (shape {w.shape})"
            )
        found["channels"] = found.get("channels", (w.shape[1], w_name, w.shape))
        found["filters"] = (w.shape[0], w_name, w.shape)
        found["kernel"] = (tuple(w.shape[2:]), w_name, w.shape)
    fc_shape = np.shape(spec.fc_weight) if spec.fc_weight is not None else ()
    if loss == "ce" and len(fc_shape) == 2 and fc_shape[0] >= 2:
        found["classes"] = (fc_shape[0], array_name(src, "fc.weight", "fc.weight"), fc_shape)
    changes = {}
    for name, (value, origin, shape) in found.items():
        given, default = getattr(spec, name), getattr(defaults, name)
        if name == "kernel":  # an int or a pair: compare as pairs
            given, default = pair(given, "--kernel"), pair(default, "--kernel")
        if given != value and given != default:
            flag = "--height/--size" if name == "height" else "--width/--size"
            flag = flag if name in ("height", "width") else f"--{name}"
            raise ShapeError(
                f"{flag} {given} disagrees with {origin}, whose shape {tuple(shape)} gives "
                f"{name} {value}; leave {flag} out when the array comes from a file"
            )
        changes[name] = value
    return replace(spec, **changes)


def build_scenario(spec: ScenarioSpec) -> Scenario:
    """Resolve and validate a spec: check every shape and size once, then generate what is
    missing (sizes are judged from the shapes before anything big is allocated)."""
    from .validation import array_name, check_budget, check_conv_bias, check_head, in_dtype

    pool = _choice(spec.pool, POOLS, "--pool")
    activation = _choice(spec.activation, ACTIVATIONS, "--activation")
    loss = _choice(spec.loss, LOSSES, "--loss")
    method = _choice(spec.method, METHODS, "--method")
    dtype_name = _choice(spec.dtype, DTYPES, "--dtype")
    dtype = np.dtype(dtype_name)
    # Choices are case-blind; normalise once so the generator, describe() and JSON agree.
    spec = replace(spec, pool=pool, activation=activation, loss=loss, method=method,
                   dtype=dtype_name)  # fmt: skip
    positive_int(spec.max_elements, "--max-elements")
    if not (_is_int(spec.seed) and -(2**63) <= spec.seed < 2**64):
        raise ParameterError(
            f"--seed must be an integer from -2**63 to 2**64 - 1 (what torch's generator "
            f"takes), got {spec.seed}"
        )
    spec = _with_supplied_shapes(spec, loss)
    for name in ("batch", "channels", "height", "width", "filters"):
        positive_int(getattr(spec, name), f"--{name}")
    positive_int(spec.classes, "--classes", minimum=2)
    stride = pair(spec.stride, "--stride")
    dilation = pair(spec.dilation, "--dilation")
    pool_size = pair(spec.pool_size, "--pool-size")
    pool_stride = pool_size if spec.pool_stride is None else pair(spec.pool_stride, "--pool-stride")
    padding = parse_padding(spec.padding)
    kernel = pair(spec.kernel, "--kernel")
    limited = {"--kernel": kernel, "--stride": stride, "--dilation": dilation,
               "--pool-size": pool_size, "--pool-stride": pool_stride,
               "--padding": _integers(padding)}  # fmt: skip
    for option, values in limited.items():
        for value in values:
            check_limit(value, option)
    if spec.bug is not None:
        from ..check.catalog import get_bug

        get_bug(spec.bug)  # an unknown id is bad input, listing the ids
        if pair(spec.dilation, "--dilation") != (1, 1):
            raise ParameterError("--bug plants its bug into an undilated conv: use --dilation 1")

    x_shape = (spec.batch, spec.channels, spec.height, spec.width)
    pads = resolve_padding(padding, x_shape[2:], kernel, stride, dilation)
    try:
        conv_hw = conv_output_shape(x_shape[2:], kernel, stride, pads, dilation)
    except ParameterError as error:  # name the file the input size came from
        origin = spec.sources.get("input") if spec.input is not None else None
        raise ParameterError(f"{error} of {origin}" if origin else str(error)) from None
    if pool == "none":
        pooled_hw = conv_hw
    else:
        try:
            pooled_hw = conv_output_shape(conv_hw, pool_size, pool_stride, what="pool window")
        except ParameterError:  # the conv made the map that small: say so, with its options
            raise ParameterError(
                f"pool window {pool_size[0]}×{pool_size[1]} does not fit the conv output "
                f"{conv_hw[0]}×{conv_hw[1]} (input {x_shape[2]}×{x_shape[3]}, kernel "
                f"{kernel[0]}×{kernel[1]}, stride {stride[0]}×{stride[1]}, dilation "
                f"{dilation[0]}×{dilation[1]}); use a smaller --stride, --kernel or --pool-size, "
                "or --pool none"
            ) from None
    in_features = spec.filters * pooled_hw[0] * pooled_hw[1]
    out_features = spec.classes if loss == "ce" else 1
    if spec.fc_weight is not None:
        out_features = np.shape(spec.fc_weight)[0] if np.ndim(spec.fc_weight) == 2 else 1
    window = None if pool == "none" else pool_size
    check_budget(
        x_shape, spec.filters, kernel, pads, conv_hw, window, pooled_hw,
        out_features, method, spec.max_elements,
    )  # fmt: skip

    generated = _generate(spec, dtype, in_features) if _needs_generation(spec) else {}
    x = spec.input if spec.input is not None else generated["input"]
    conv_w = spec.conv_weight if spec.conv_weight is not None else generated["conv_weight"]
    x = in_dtype(x, dtype, array_name(spec.sources, "input", "the input"))
    conv_w = in_dtype(conv_w, dtype, array_name(spec.sources, "conv.weight", "conv.weight"))
    conv_b = spec.conv_bias if spec.conv_bias is not None else np.ones(spec.filters, dtype)
    check_conv_bias(conv_b, spec.filters, spec.sources)
    conv_b = in_dtype(conv_b, dtype, array_name(spec.sources, "conv.bias", "conv.bias"))
    if spec.fc_weight is not None:
        fc_w = spec.fc_weight
    elif loss == "ce":  # drawn after the target, from the same generator
        fc_w = generated["fc_weight"]
    else:
        fc_w = np.ones((out_features, in_features))
    fc_b = spec.fc_bias if spec.fc_bias is not None else np.ones(out_features)
    if spec.target is not None:
        target = spec.target
    elif loss == "ce":
        target = generated["target"]
    else:
        target = np.zeros((x.shape[0], out_features))

    fc_w, fc_b, target = check_head(
        fc_w, fc_b, target, in_features, x.shape[0], loss, dtype, spec.sources
    )
    return Scenario(
        x=x,
        conv_weight=conv_w,
        conv_bias=conv_b,
        fc_weight=fc_w,
        fc_bias=fc_b,
        target=target,
        stride=stride,
        padding=padding,
        pads=pads,
        dilation=dilation,
        pool=pool,
        pool_size=pool_size,
        pool_stride=pool_stride,
        activation=activation,
        loss=loss,
        method=method,
        dtype=dtype_name,
        seed=spec.seed,
        sources=dict(spec.sources),
        max_elements=spec.max_elements,
        bug=spec.bug,
    )


def _integers(padding) -> list[int]:
    """The numbers of a padding spec (none for "valid"/"same"), however it is nested."""
    if isinstance(padding, str):
        return []
    if isinstance(padding, (tuple, list)):
        return [v for p in padding for v in _integers(p)]
    return [int(padding)]


def _needs_generation(spec: ScenarioSpec) -> bool:
    return (
        spec.input is None
        or spec.conv_weight is None
        or (spec.loss == "ce" and (spec.target is None or spec.fc_weight is None))
    )
