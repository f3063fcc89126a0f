"""The scenario's network as layer objects: built from its specs, named, given its weights."""

from __future__ import annotations

import inspect

from ..core.layers.conv_stages import numbered
from ..scenario.net import plan


def build_network(scenario) -> list:
    """Fresh layers for one run (layers cache what their backward needs), in order.

    Each gets its name (``conv2``), the letter of its output (``H2``) and of its input, the
    stage it reads, and its parameters from ``scenario.params``. With ``--bug``, the first
    layer (a conv: the scenario checked it) is the catalog's buggy one.
    """
    layers = []
    in_symbol, in_stage = "x", "input"
    last_fc = scenario.fc_name
    for p in plan(scenario.layers, scenario.x.shape):
        spec, cls = p.spec, p.spec.cls
        options = dict(spec.options)
        if "method" in inspect.signature(cls.__init__).parameters:
            options["method"] = scenario.method
        if scenario.bug and not layers and spec.kind == "conv":  # the first layer's conv
            from ..core.layers.bugs import BuggyConv

            options.pop("method", None)
            options.pop("dilation", None)  # --bug refuses a dilated conv
            layer = BuggyConv(scenario.bug, **options)
        else:
            layer = cls.build(options, p.in_shape)
        layer.name, layer.symbol = spec.name, numbered(cls.letter, spec.name)
        layer.in_symbol, layer.in_stage = in_symbol, in_stage
        if spec.kind == "fc":
            layer.is_last = spec.name == last_fc
        parts = layer.param_shapes(p.in_shape)
        layer.set_params(**{part: scenario.params[f"{spec.name}.{part}"] for part in parts})
        layers.append(layer)
        in_symbol, in_stage = layer.symbol, f"{spec.name}.out"
    return layers
