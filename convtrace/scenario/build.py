"""Scenario: everything one run needs, resolved and validated once.

``build_scenario`` turns a ``ScenarioSpec`` (spec.py) into a ``Scenario``: arrays in the chosen
dtype plus hyper-parameters. Nothing downstream re-validates user input.

The network is a list of named layer specs: from ``--net`` (see ``net.py``), or the classroom
network built from the single-layer flags (conv → [relu] → [pool] → flatten → fc). Every
layer's parameters, and the seeded generator's draws, are in ``params.py``.
"""

from __future__ import annotations

import inspect
from dataclasses import replace

import numpy as np

from ..core.errors import ParameterError, ShapeError
from ..core.geometry import (
    _is_int,
    check_limit,
    conv_output_shape,
    pair,
    positive_int,
    resolve_padding,
)
from ..i18n import _
from .net import classic_layers, plan
from .resolved import Scenario
from .spec import (
    ACTIVATIONS,
    BN_MODES,
    DTYPES,
    LOSSES,
    METHODS,
    POOLS,
    ScenarioSpec,
    choice,
    parse_padding,
)


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


def build_scenario(spec: ScenarioSpec) -> Scenario:
    """Resolve and validate a spec: check every shape and size once, then generate what is
    missing (sizes are judged from the shapes before anything big is allocated)."""
    try:
        return _build(spec)
    except ShapeError as error:
        if not spec.overridden or "scenario" not in spec.sources:
            raise
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in spec.overridden)
        raise ShapeError(
            _(
                "{error}: {flags} changed the network that {sources} saved its "
                "weights for; leave {flags} out to replay it, or remove its "
                "weights line to draw new ones from the seed"
            ).format(error=error, flags=flags, sources=spec.sources["scenario"])
        ) from None


def _build(spec: ScenarioSpec) -> Scenario:
    from .validation import check_budget, dims

    pool = choice(spec.pool, POOLS, "--pool")
    activation = choice(spec.activation, ACTIVATIONS, "--activation")
    loss = choice(spec.loss, LOSSES, "--loss")
    method = choice(spec.method, METHODS, "--method")
    dtype_name = choice(spec.dtype, DTYPES, "--dtype")
    dtype = np.dtype(dtype_name)
    # Choices are case-blind; normalise once so the generator, describe() and JSON agree.
    bn_mode = choice(spec.bn_mode, BN_MODES, "--bn-mode")
    spec = replace(spec, pool=pool, activation=activation, loss=loss, method=method,
                   dtype=dtype_name, bn_mode=bn_mode)  # fmt: skip
    positive_int(spec.max_elements, "--max-elements")
    if not (_is_int(spec.seed) and -(2**63) <= spec.seed < 2**64):
        raise ParameterError(
            _(
                "--seed must be an integer from -2**63 to 2**64 - 1 (what "
                "torch's generator takes), got {seed}"
            ).format(seed=spec.seed)
        )
    if spec.net is not None:
        return _build_net(spec, loss, method, dtype)
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
        if pair(spec.dilation, "--dilation") != (1, 1):
            raise ParameterError(_("--bug plants its bug into an undilated conv: use --dilation 1"))

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
                _(
                    "pool window {pool} does not fit the conv output {conv} (input {x}, "
                    "kernel {kernel}, stride {stride}, dilation {dilation}); use a smaller "
                    "--stride, --kernel or --pool-size, or --pool none"
                ).format(
                    pool=dims(pool_size),
                    conv=dims(conv_hw),
                    x=dims(x_shape[2:]),
                    kernel=dims(kernel),
                    stride=dims(stride),
                    dilation=dims(dilation),
                )
            ) from None
    out_features = spec.classes if loss == "ce" else 1
    if spec.fc_weight is not None:
        out_features = np.shape(spec.fc_weight)[0] if np.ndim(spec.fc_weight) == 2 else 1
    window = None if pool == "none" else pool_size
    in_features = spec.filters * pooled_hw[0] * pooled_hw[1]
    check_budget(
        x_shape, spec.filters, kernel, pads, conv_hw, window, pooled_hw,
        out_features, method, spec.max_elements,
    )  # fmt: skip
    layers = classic_layers(
        spec.filters, kernel, stride, padding, dilation, activation, pool, pool_size,
        pool_stride, out_features,
    )  # fmt: skip
    planned = plan(layers, x_shape)
    _check_bug(spec.bug, planned, net=False)
    return _finish(spec, layers, planned, x_shape, loss, method, dtype, None,
                   in_features=in_features)  # fmt: skip


#: The options --net replaces (the classroom network's single layers).
NET_REPLACES = ("filters", "kernel", "stride", "padding", "dilation", "activation", "pool",
                "pool_size", "pool_stride")  # fmt: skip


def _build_net(spec: ScenarioSpec, loss: str, method: str, dtype) -> Scenario:
    """A --net network: parse it, plan every layer's shape, judge the budget, then finish."""
    from .net import check_net_budget, net_text, parse_net, plan

    defaults = ScenarioSpec()
    clashing = [f"--{k.replace('_', '-')}" for k in NET_REPLACES
                if getattr(spec, k) != getattr(defaults, k)]  # fmt: skip
    if clashing:
        raise ParameterError(
            _(
                "--net describes every layer, so {clashing} cannot be combined "
                "with it; write the layer's options inside --net, e.g. "
                "conv(4,3,stride=2,padding=same)"
            ).format(clashing=", ".join(clashing))
        )
    layers = parse_net(spec.net)
    for layer in layers:  # --bn-mode reaches every layer that has a mode (bn)
        if "mode" in inspect.signature(layer.cls.__init__).parameters:
            layer.options["mode"] = spec.bn_mode
    if spec.input is not None:
        from .validation import array_name, check_supplied

        x_name = array_name(spec.sources, "input", "the input")
        x = check_supplied(spec.input, x_name, 4, "(N, C, H, W)")
        spec = replace(spec, batch=x.shape[0], channels=x.shape[1], height=x.shape[2],
                       width=x.shape[3])  # fmt: skip
    for name in ("batch", "channels", "height", "width"):
        positive_int(getattr(spec, name), f"--{name}")
    x_shape = (spec.batch, spec.channels, spec.height, spec.width)
    planned = plan(layers, x_shape)
    head = planned[-1].layer
    if loss == "ce" and planned[-1].spec.kind != "fc":
        raise ParameterError(
            _(
                "--loss ce compares logits with class indices, so --net must end with "
                "fc(classes); a network ending in {last} suits --loss mse or bce"
            ).format(last=planned[-1].spec.text())
        )
    if loss == "ce":
        if head.out_features < 2:
            raise ParameterError(
                _(
                    "--loss ce needs at least 2 classes, but the last layer {spec} "
                    "has {out_features} output"
                ).format(spec=planned[-1].spec.text(), out_features=head.out_features)
            )
        if spec.classes not in (defaults.classes, head.out_features):
            raise ParameterError(
                _(
                    "--classes {classes} disagrees with the last layer {spec} of "
                    "--net; leave --classes out or make them equal"
                ).format(classes=spec.classes, spec=planned[-1].spec.text())
            )
    check_net_budget(planned, x_shape, method, spec.max_elements)
    _check_bug(spec.bug, planned, net=True)
    return _finish(spec, layers, planned, x_shape, loss, method, dtype, net_text(layers))


def _check_bug(bug_id, planned, net: bool) -> None:
    """--bug lives in the network's first layer, a conv (the classroom's is): refused, naming
    the options that would show it, when this scenario cannot (its variant changes no value
    of that conv here: stride 1 for stride-ignored, batch 1 for a batch bug, …)."""
    if bug_id is None:
        return
    from ..core.layers.bugs import get_bug, hidden_bug_message, reveals

    get_bug(bug_id)
    first = planned[0]
    if first.spec.kind != "conv":
        raise ParameterError(
            _(
                "--bug plants its bug into the network's first layer, which must be a conv; "
                "this network starts with {layer}"
            ).format(layer=first.spec.text())
        )
    if pair(first.spec.options.get("dilation", 1), "dilation") != (1, 1):
        raise ParameterError(_("--bug plants its bug into an undilated conv: use --dilation 1"))
    if not reveals(bug_id, first.spec.options, first.in_shape):
        raise ParameterError(hidden_bug_message(bug_id, net))


def _finish(spec, layers, planned, x_shape, loss, method, dtype, net, in_features=None):
    """Generate what is missing, resolve every layer's parameters and the target, and check
    them against the planned shapes."""
    from . import params as P
    from .validation import array_name, check_conv_bias, check_head, in_dtype

    supplied = {k: v for k, v in spec.params.items() if v is not None}
    supplied, sources = P.by_position(supplied, dict(spec.sources), planned)
    for key, field_name in (("conv.weight", "conv_weight"), ("conv.bias", "conv_bias"),
                            ("fc.weight", "fc_weight"), ("fc.bias", "fc_bias")):  # fmt: skip
        if getattr(spec, field_name) is not None:
            supplied[key] = getattr(spec, field_name)
    P.check_names(supplied, planned, sources)
    drawn = [p for p in P.parametrised(planned) if "weight" in P.drawn(p.layer)]
    head = planned[-1] if planned[-1].spec.kind == "fc" else None  # else an image ends the net
    classes = head.layer.out_features if loss == "ce" else spec.classes
    if drawn and drawn[-1].spec.kind == "fc" and loss != "ce":
        drawn = drawn[:-1]  # the last fc's weight is ones for bce/mse: never drawn
    needs = (
        spec.input is None
        or any(f"{p.spec.name}.weight" not in supplied for p in drawn)
        or (loss == "ce" and spec.target is None)
    )
    generated = P.generate(spec.seed, x_shape, planned, loss, classes, dtype) if needs else {}
    x = spec.input if spec.input is not None else generated["input"]
    x = in_dtype(x, dtype, array_name(sources, "input", "the input"))
    head_keys = (f"{head.spec.name}.weight", f"{head.spec.name}.bias") if head else ()
    conv_keys = ("conv.weight", "conv.bias") if net is None else ()
    params = P.resolve(supplied, generated, planned, loss, dtype, sources,
                       skip=(*head_keys, *conv_keys))  # fmt: skip
    if net is None:  # the classroom conv keeps its own checks and messages
        params["conv.weight"] = in_dtype(
            params["conv.weight"], dtype, array_name(sources, "conv.weight", "conv.weight")
        )
        check_conv_bias(params["conv.bias"], spec.filters, sources)
        params["conv.bias"] = in_dtype(params["conv.bias"], dtype,
                                       array_name(sources, "conv.bias", "conv.bias"))  # fmt: skip
    if spec.target is not None:
        target = spec.target
    elif loss == "ce":
        target = generated["target"]
    else:
        target = np.zeros(planned[-1].out_shape)
    if head is None:
        from .validation import check_image_target

        target = check_image_target(target, planned[-1].out_shape, loss, dtype, sources)
        return _scenario(spec, x, target, layers, params, loss, method, dtype, sources, net)
    head_in = head.layer.in_features if in_features is None else in_features
    params[head_keys[0]], params[head_keys[1]], target = check_head(
        params[head_keys[0]], params[head_keys[1]], target, head_in, x.shape[0], loss, dtype,
        sources, name=head.spec.name,
    )  # fmt: skip
    return _scenario(spec, x, target, layers, params, loss, method, dtype, sources, net)


def _scenario(spec, x, target, layers, params, loss, method, dtype, sources, net) -> Scenario:
    return Scenario(
        x=x,
        target=target,
        layers=layers,
        params=params,
        loss=loss,
        method=method,
        dtype=dtype.name,
        seed=spec.seed,
        sources=sources,
        max_elements=spec.max_elements,
        bug=spec.bug,
        net=net,
        bn_mode=spec.bn_mode,
    )


def _integers(padding) -> list[int]:
    """The numbers of a padding spec (none for "valid"/"same"), however it is nested."""
    if isinstance(padding, str):
        return []
    if isinstance(padding, (tuple, list)):
        return [v for p in padding for v in _integers(p)]
    return [int(padding)]
