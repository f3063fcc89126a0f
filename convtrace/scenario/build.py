"""Scenario: everything one run needs, resolved and validated once.

``build_scenario`` turns a ``ScenarioSpec`` (spec.py) into a ``Scenario``: arrays in the chosen
dtype plus hyper-parameters. Nothing downstream re-validates user input.

One direction, for every network::

    describe   --net text (net.parse_net), or the classroom flags (classroom.classroom_net)
    plan       every layer's shapes from the description alone (net.plan), the budget
    supply     each parameter by its layer's name, else drawn from the seed (params.py)
    validate   each against its planned shape, the head against the loss (validation.py)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.errors import ParameterError, ShapeError
from ..core.geometry import _is_int, pair, positive_int
from ..i18n import _
from . import params as P
from .classroom import SMALLER, classroom_net, plan_error
from .net import check_net_budget, described_net, net_text, plan
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
)
from .validation import array_name, check_head, check_image_target, in_dtype


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
    # describe
    if spec.net is None:
        spec, layers = classroom_net(spec, loss)
        explain, smaller = plan_error(spec), SMALLER
    else:
        spec, layers = described_net(spec)
        explain, smaller = None, None
    # plan
    x_shape = (spec.batch, spec.channels, spec.height, spec.width)
    planned = plan(layers, x_shape, explain)
    if spec.net is not None:
        _check_loss_head(spec, planned, loss)
    check_net_budget(planned, x_shape, method, spec.max_elements, smaller)
    _check_bug(spec.bug, planned, net=spec.net is not None)
    # supply or draw, then validate
    return _finish(spec, layers, planned, x_shape, loss, method, dtype)


def _check_loss_head(spec: ScenarioSpec, planned, loss: str) -> None:
    """--loss ce needs a --net that ends in fc(classes), and --classes (if given) agreeing."""
    if loss != "ce":
        return
    head = planned[-1].layer
    if planned[-1].spec.kind != "fc":
        raise ParameterError(
            _(
                "--loss ce compares logits with class indices, so --net must end with "
                "fc(classes); a network ending in {last} suits --loss mse or bce"
            ).format(last=planned[-1].spec.text())
        )
    if head.out_features < 2:
        raise ParameterError(
            _(
                "--loss ce needs at least 2 classes, but the last layer {spec} "
                "has {out_features} output"
            ).format(spec=planned[-1].spec.text(), out_features=head.out_features)
        )
    if spec.classes not in (ScenarioSpec().classes, head.out_features):
        raise ParameterError(
            _(
                "--classes {classes} disagrees with the last layer {spec} of "
                "--net; leave --classes out or make them equal"
            ).format(classes=spec.classes, spec=planned[-1].spec.text())
        )


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


def _finish(spec, layers, planned, x_shape, loss, method, dtype) -> Scenario:
    """Supply each parameter by its layer's name or draw it from the seed, resolve the target,
    and check every array against the planned shapes."""
    supplied = {k: v for k, v in spec.params.items() if v is not None}
    supplied, sources = P.by_position(supplied, dict(spec.sources), planned)
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
    params = P.resolve(supplied, generated, planned, loss, dtype, sources, skip=head_keys)
    if spec.target is not None:
        target = spec.target
    elif loss == "ce":
        target = generated["target"]
    else:
        target = np.zeros(planned[-1].out_shape)
    if head is None:
        target = check_image_target(target, planned[-1].out_shape, loss, dtype, sources)
    else:
        params[head_keys[0]], params[head_keys[1]], target = check_head(
            params[head_keys[0]], params[head_keys[1]], target, head.layer.in_features,
            x.shape[0], loss, dtype, sources, name=head.spec.name,
        )  # fmt: skip
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
        net=None if spec.net is None else net_text(layers),
        bn_mode=spec.bn_mode,
    )
