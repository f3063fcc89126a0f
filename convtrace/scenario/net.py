"""A network described once: ``--net "conv(4,3) relu maxpool(2) fc(10)"`` → named layer specs,
and the shapes of every layer, judged before anything is allocated.

Grammar: layers separated by spaces, each ``kind`` or ``kind(arg, ..., key=value)``; the kinds
and their arguments are those registered in ``convtrace.core.layers.KINDS`` (each class's
``SIGNATURE``). A keyword's value may be a pair written ``H,W`` (``padding=1,2``). A
``flatten`` is implied before the first ``fc`` that reads an image. Names: a family that
occurs once keeps its name (``conv``, ``act``, ``pool``, ``flatten``, ``fc``); one that occurs
more than once is numbered from 1 in order (``conv1``, ``conv2``).
"""

from __future__ import annotations

import inspect
import math
import re
from dataclasses import dataclass, field, replace

from ..core.errors import ConvtraceError, ParameterError
from ..core.geometry import positive_int
from ..core.layers import KINDS
from ..core.layers.base import REQUIRED
from ..i18n import _
from .spec import ScenarioSpec
from .validation import LOOP_POSITION_LIMIT, array_name, check_supplied, check_tensors

#: The options --net replaces (the classroom network's single layers, see classroom.py).
NET_REPLACES = ("filters", "kernel", "stride", "padding", "dilation", "activation", "pool",
                "pool_size", "pool_stride")  # fmt: skip
_LAYER = re.compile(r"\s*([A-Za-z_][\w-]*)(?:\s*\(([^()]*)\))?")
_INT = re.compile(r"^-?\d{1,18}$")
_FLOAT = re.compile(r"^-?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][-+]?\d{1,3})$")


@dataclass
class LayerSpec:
    """One layer of a network: its kind (a key of KINDS), constructor options and name."""

    kind: str
    options: dict = field(default_factory=dict)
    name: str = ""
    implicit: bool = False

    @property
    def cls(self):
        return KINDS[self.kind]

    def text(self) -> str:
        """The layer as ``--net`` writes it: ``conv(8,3,stride=2,padding=same)``."""
        sig = self.cls.SIGNATURE
        spell = self.cls.SPEC_NAMES
        parts, keyword = [], False
        for arg, default in sig:
            value = _compact(self.options.get(arg, default))
            if default is not REQUIRED and value == _compact(default):
                keyword = True
                continue
            pair = isinstance(value, (tuple, list))
            shown = ",".join(map(str, value)) if pair else str(value)
            if default is REQUIRED and not keyword and not pair:
                parts.append(shown)
            else:
                keyword = True
                parts.append(f"{spell.get(arg, arg)}={shown}")
        return self.cls.kind + (f"({','.join(parts)})" if parts else "")


def _compact(value):
    """(3, 3) -> 3: a pair of equal numbers is written once."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and value[0] == value[1]:
        if not isinstance(value[0], (tuple, list)):
            return value[0]
    return tuple(value) if isinstance(value, list) else value


def net_text(layers) -> str:
    """The whole network as ``--net`` writes it (implied layers left out)."""
    return " ".join(spec.text() for spec in layers if not spec.implicit)


def _value(text: str):
    text = text.strip()
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):  # bn(eps=1e-3, momentum=0.2)
        return float(text)
    if re.match(r"^-?\d+$", text):
        raise ParameterError(
            _("--net: the number {text}… has {text2} digits").format(
                text=text[:20], text2=len(text)
            )
        )
    return text.lower()


def _shown(cls, arg: str, default) -> str:
    """``kernel`` for a required argument, ``stride=1`` for one with a default."""
    name = cls.SPEC_NAMES.get(arg, arg)
    if default is REQUIRED:
        return name
    return f"{name}={'size' if default is None else default}"


def _arguments(kind: str, body: str) -> dict:
    """``"8,3,stride=2,padding=1,2"`` -> constructor options, bound to the kind's SIGNATURE."""
    cls = KINDS[kind]
    names = [arg for arg, _default in cls.SIGNATURE]
    spelled = {cls.SPEC_NAMES.get(arg, arg): arg for arg in names}
    usage = f"{kind}({', '.join(_shown(cls, arg, default) for arg, default in cls.SIGNATURE)})"
    positional, keywords, last = [], {}, None
    for raw in body.split(",") if body.strip() else []:
        if "=" in raw:
            key, value = raw.split("=", 1)
            key = key.strip().lower()
            if key not in spelled:
                raise ParameterError(
                    _("--net: {kind} has no argument {key!r}; it takes {usage}").format(
                        kind=kind, key=key, usage=usage
                    )
                )
            last = spelled[key]
            keywords[last] = [_value(value)]
        elif last is not None:  # padding=1,2: the pair goes on
            keywords[last].append(_value(raw))
        else:
            positional.append(_value(raw))
    if len(positional) > len(names):
        raise ParameterError(
            _("--net: {kind} takes at most {names} argument(s): {usage}").format(
                kind=kind, names=len(names), usage=usage
            )
        )
    options = dict(zip(names, positional, strict=False))
    for arg, values in keywords.items():
        if arg in options:
            raise ParameterError(
                _("--net: {kind} got {arg} twice: {usage}").format(kind=kind, arg=arg, usage=usage)
            )
        options[arg] = values[0] if len(values) == 1 else tuple(values)
    missing = [
        cls.SPEC_NAMES.get(a, a) for a, d in cls.SIGNATURE if d is REQUIRED and a not in options
    ]
    if missing:
        raise ParameterError(
            _("--net: {kind} needs {missing}: {usage}").format(
                kind=kind, missing=" and ".join(missing), usage=usage
            )
        )
    return options


def parse_net(text: str) -> list[LayerSpec]:
    """``--net`` text -> named LayerSpecs (with the implied flatten)."""
    text = (text or "").strip()
    if not text:
        raise ParameterError(
            _('--net is empty: write layers such as "conv(4,3) relu maxpool(2) fc(10)"')
        )
    specs, at = [], 0
    while at < len(text):
        match = _LAYER.match(text, at)
        if not match or match.end() == at:
            raise ParameterError(
                _(
                    "--net: cannot read {text!r}: write layers such as conv(4,3) "
                    "relu maxpool(2) fc(10), separated by spaces"
                ).format(text=text[at : at + 30])
            )
        kind = match.group(1).lower()
        if kind not in KINDS:
            raise ParameterError(
                _("--net: unknown layer {match!r}; the kinds are {KINDS}").format(
                    match=match.group(1), KINDS=", ".join(cls.kind for cls in KINDS.values())
                )
            )
        specs.append(LayerSpec(kind, _arguments(kind, match.group(2) or "")))
        at = match.end()
        if at < len(text) and not text[at].isspace() and text[at - 1] != ")":
            raise ParameterError(
                _("--net: cannot read {text!r} after {kind}").format(
                    text=text[at : at + 30], kind=kind
                )
            )
    return name_layers(with_flatten(specs))


def with_flatten(specs: list[LayerSpec]) -> list[LayerSpec]:
    """Insert the flatten implied before the first fc that reads an image; refuse an image
    layer after the features were flattened. (A network may end in any layer: --loss ce
    needs an fc at the end, which the scenario judges with the loss in hand.)"""
    out, flat = [], False
    for spec in specs:
        if spec.kind == "fc" and not flat:
            out.append(LayerSpec("flatten", implicit=True))
            flat = True
        if spec.cls.needs_image and flat:
            images = ", ".join(cls.kind for cls in KINDS.values() if cls.needs_image)
            raise ParameterError(
                _(
                    "--net: {kind} comes after the features were flattened (by fc or "
                    "flatten); image layers ({images}) go before the first fc"
                ).format(kind=spec.cls.kind, images=images)
            )
        flat = flat or spec.kind in ("flatten", "fc")
        out.append(spec)
    return out


def name_layers(specs: list[LayerSpec]) -> list[LayerSpec]:
    """Name each layer by its family, numbered from 1 when the family occurs more than once."""
    families = [KINDS[s.kind].family for s in specs]
    seen: dict[str, int] = {}
    for spec, family in zip(specs, families, strict=True):
        if families.count(family) == 1:
            spec.name = family
        else:
            seen[family] = seen.get(family, 0) + 1
            spec.name = f"{family}{seen[family]}"
    return specs


def described_net(spec: ScenarioSpec) -> tuple[ScenarioSpec, list[LayerSpec]]:
    """A spec with --net -> (the spec with N, C, H, W from a supplied input, the named layers,
    --bn-mode reaching every bn). The classroom's single-layer options are refused beside it."""
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
        x_name = array_name(spec.sources, "input", "the input")
        x = check_supplied(spec.input, x_name, 4, "(N, C, H, W)")
        spec = replace(spec, batch=x.shape[0], channels=x.shape[1], height=x.shape[2],
                       width=x.shape[3])  # fmt: skip
    for name in ("batch", "channels", "height", "width"):
        positive_int(getattr(spec, name), f"--{name}")
    return spec, layers


@dataclass
class Planned:
    """One layer of a planned network: the layer (no weights yet) and its shapes."""

    spec: LayerSpec
    layer: object
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


def plan(specs: list[LayerSpec], x_shape: tuple[int, ...], explain=None) -> list[Planned]:
    """Build every layer and compute every shape from the spec alone (nothing allocated). A
    layer that does not fit names itself and where its input came from; ``explain(planned,
    spec, in_shape, error)`` may word it instead (the classroom flags speak of --kernel)."""
    planned, shape, origin = [], tuple(x_shape), _("the input x")
    for spec in specs:
        try:
            layer = spec.cls.build(dict(spec.options), shape)
        except (ConvtraceError, TypeError, ValueError) as error:
            # an argument as typed (conv(0,3)): named as written, no input involved
            typed = spec.text() if spec.name == spec.kind else f"{spec.name} = {spec.text()}"
            raise ParameterError(_("{layer}: {error}").format(layer=typed, error=error)) from None
        try:
            out = tuple(layer.output_shape(shape))
        except ConvtraceError as error:
            worded = explain(planned, spec, shape, error) if explain else None
            if worded is not None:
                raise ParameterError(worded) from None
            message = str(error).replace("the padded input", "its padded input")
            message = message.replace("the input", "its input")
            raise ParameterError(
                _("{name}: {message} ({origin})").format(
                    name=spec.name, message=message, origin=origin
                )
            ) from None
        layer.name = spec.name
        planned.append(Planned(spec, layer, shape, out))
        shape, origin = out, _("{name} output").format(name=spec.name)
    return planned


def check_net_budget(planned, x_shape, method: str, max_elements: int,
                     smaller: str | None = None) -> None:  # fmt: skip
    """Refuse a network whose tensors would be too big, from the shapes alone: the input and
    every layer's own arrays (a conv's im2col matrix, a pool's windows, an fc's weight). Also
    refuses Python loops over more positions than a class can wait for. ``smaller``: how else
    to shrink it, in the words the network was given in."""
    tensors = [("the input", tuple(x_shape))]
    positions = 0
    for p in planned:
        tensors += p.layer.tensors(p.in_shape)
        if method in ("loop", "both") and p.spec.kind == "conv":
            positions += math.prod(p.out_shape)
    check_tensors(tensors, max_elements, smaller or "fewer filters, a bigger stride in --net")
    if positions > LOOP_POSITION_LIMIT:
        raise ParameterError(
            _(
                "--method {method} would run the convolutions' Python loops over "
                "{positions:,} output positions, more than the "
                "{LOOP_POSITION_LIMIT:,} that Python loops get through in a few "
                "seconds; use --method im2col for a run this large, or a smaller "
                "--size or --batch"
            ).format(method=method, positions=positions, LOOP_POSITION_LIMIT=LOOP_POSITION_LIMIT)
        )
