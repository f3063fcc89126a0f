"""The classroom network's flags as a network description: ``--filters 2 --kernel 3 --pool max``
→ the LayerSpecs of ``conv(2,3) maxpool(2) fc(1)``, which the one build path plans, supplies or
draws and validates like any ``--net``.

conv → [relu] → [pool] → flatten → fc. Each flag is judged here under its own name (``--kernel
must be …``), and the counts (N, C, H, W, F, kernel, classes) follow the arrays the user
supplied: the input, and ``params["conv.weight"]`` / ``params["fc.weight"]`` by layer name.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.errors import ParameterError, ShapeError
from ..core.geometry import check_limit, pair, positive_int
from ..i18n import _
from .net import LayerSpec, name_layers
from .spec import ScenarioSpec, parse_padding
from .validation import array_name, check_supplied, dims

#: How a budget refusal says "make it smaller" in the classroom's own flags.
SMALLER = "fewer --filters, a bigger --stride"


def classroom_net(spec: ScenarioSpec, loss: str) -> tuple[ScenarioSpec, list[LayerSpec]]:
    """The flags (and the shapes of supplied arrays) -> (the spec with its counts settled, the
    named layers conv → [relu] → [pool] → flatten → fc)."""
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
        from ..core.layers.bugs import get_bug

        get_bug(spec.bug)  # an unknown id is bad input, listing the ids
        if dilation != (1, 1):
            raise ParameterError(_("--bug plants its bug into an undilated conv: use --dilation 1"))
    fc_weight = spec.params.get("fc.weight")
    out_features = spec.classes if loss == "ce" else 1
    if fc_weight is not None:
        out_features = np.shape(fc_weight)[0] if np.ndim(fc_weight) == 2 else 1
    layers = [LayerSpec("conv", {"filters": spec.filters, "kernel_size": kernel, "stride": stride,
                                 "padding": padding, "dilation": dilation})]  # fmt: skip
    if spec.activation == "relu":
        layers.append(LayerSpec("relu"))
    if spec.pool != "none":
        window_stride = None if pool_stride == pool_size else pool_stride
        layers.append(LayerSpec(f"{spec.pool}pool",
                                {"kernel_size": pool_size, "stride": window_stride}))  # fmt: skip
    layers.append(LayerSpec("flatten", implicit=True))
    layers.append(LayerSpec("fc", {"out_features": out_features}))
    return spec, name_layers(layers)


def plan_error(spec: ScenarioSpec):
    """How ``net.plan`` words a layer that does not fit, in the flags' terms: the conv names the
    file its input came from; the pool names the conv options that made the map that small."""

    def explain(planned, layer, in_shape, error) -> str | None:
        if layer.kind == "conv":
            origin = spec.sources.get("input") if spec.input is not None else None
            return f"{error} of {origin}" if origin else str(error)
        if layer.kind.endswith("pool"):
            conv = planned[0].spec.options
            return _(
                "pool window {pool} does not fit the conv output {conv} (input {x}, "
                "kernel {kernel}, stride {stride}, dilation {dilation}); use a smaller "
                "--stride, --kernel or --pool-size, or --pool none"
            ).format(
                pool=dims(layer.options["kernel_size"]),
                conv=dims(in_shape[2:]),
                x=dims(planned[0].in_shape[2:]),
                kernel=dims(conv["kernel_size"]),
                stride=dims(conv["stride"]),
                dilation=dims(conv["dilation"]),
            )
        return None

    return explain


def _with_supplied_shapes(spec: ScenarioSpec, loss: str) -> ScenarioSpec:
    """Counts (N, C, H, W, F, kernel, classes) follow the arrays the user supplied.

    A count that was also set to a non-default value and disagrees is an error, so a file is
    never silently overruled (nor silently overrules an explicit flag).
    """
    src, defaults = spec.sources, ScenarioSpec()
    found: dict[str, tuple] = {}  # field -> (value from the array, name of the array, shape)
    x_name = array_name(src, "input", "the input")
    if spec.input is not None:
        x = check_supplied(spec.input, x_name, 4, "(N, C, H, W)")
        for name, value in zip(("batch", "channels", "height", "width"), x.shape, strict=True):
            found[name] = (value, x_name, x.shape)
    if spec.params.get("conv.weight") is not None:
        w_name = array_name(src, "conv.weight", "conv.weight")
        kh, kw = pair(spec.kernel, "--kernel")
        c = found["channels"][0] if "channels" in found else spec.channels
        expected = f"(F, C, kh, kw), here ({spec.filters}, {c}, {kh}, {kw})"
        w = check_supplied(spec.params["conv.weight"], w_name, 4, expected)
        if spec.input is not None and x.shape[1] != w.shape[1]:
            raise ShapeError(
                _(
                    "{x_name} has {shape} channel(s) (shape {shape2}) but {w_name} "
                    "expects {shape3} (shape {shape4})"
                ).format(
                    x_name=x_name,
                    shape=x.shape[1],
                    shape2=x.shape,
                    w_name=w_name,
                    shape3=w.shape[1],
                    shape4=w.shape,
                )
            )
        found["channels"] = found.get("channels", (w.shape[1], w_name, w.shape))
        found["filters"] = (w.shape[0], w_name, w.shape)
        found["kernel"] = (tuple(w.shape[2:]), w_name, w.shape)
    fc_weight = spec.params.get("fc.weight")
    fc_shape = np.shape(fc_weight) if fc_weight is not None else ()
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
                _(
                    "{flag} {given} disagrees with {origin}, whose shape {shape} "
                    "gives {name} {value}; leave {flag} out when the array comes "
                    "from a file"
                ).format(
                    flag=flag,
                    given=given,
                    origin=origin,
                    shape=tuple(shape),
                    name=name,
                    value=value,
                )
            )
        changes[name] = value
    return replace(spec, **changes)


def _integers(padding) -> list[int]:
    """The numbers of a padding spec (none for "valid"/"same"), however it is nested."""
    if isinstance(padding, str):
        return []
    if isinstance(padding, (tuple, list)):
        return [v for p in padding for v in _integers(p)]
    return [int(padding)]
