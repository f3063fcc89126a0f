"""Scenario files: every run option in one TOML file, and ``--save-scenario`` to write one.

A scenario file uses the options' names as keys (``pool_size`` for ``--pool-size``)::

    seed = 7
    size = 8
    channels = 3
    kernel = 3              # or [kh, kw]; likewise stride, dilation, pool_size, pool_stride
    padding = "same"        # "valid" | "same" | N | [ph, pw]
    pool = "avg"
    input = "digit.npy"     # a file (relative to the TOML file), or the numbers inline
    weights = "edges.json"  # a file, or a table: "conv.weight" = [[[[...]]]]
    target = 1              # a number, a list, or a file

Precedence: the options' defaults < the scenario file < flags given on the command line.
Files are read by ``convtrace.io``; the counts (N, C, H, W, F, kernel) follow from the arrays.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np

from ..core.errors import InputFileError, ParameterError
from ..core.geometry import _is_int
from ..i18n import _
from . import files as io
from .images import PICTURE_OPTIONS, check_picture_options, is_picture, load_picture
from .readers import describe_value
from .resolved import Scenario
from .spec import DEFAULT_MAX_ELEMENTS, ScenarioSpec

INT_KEYS = ("seed", "batch", "channels", "size", "height", "width", "filters", "classes",
            "max_elements")  # fmt: skip
PAIR_KEYS = ("kernel", "stride", "dilation", "pool_size", "pool_stride")
TEXT_KEYS = ("activation", "pool", "loss", "method", "dtype", "net", "bug", "bn_mode")
FILE_KEYS = ("input", "weights", "target")
#: how a picture --input is read (see images.py): rgb, resize, normalize
PICTURE_KEYS = tuple(PICTURE_OPTIONS)
SCENARIO_KEYS = INT_KEYS + PAIR_KEYS + ("padding",) + TEXT_KEYS + FILE_KEYS + PICTURE_KEYS
#: Options that change the network's shapes (a scenario file's saved weights may not fit).
SHAPE_KEYS = ("net", "size", "height", "width", "batch", "channels", "filters", "kernel",
              "stride", "padding", "dilation", "pool", "pool_size", "pool_stride", "loss",
              "classes")  # fmt: skip


# --------------------------------------------------------------------------- reading
def read_scenario_file(path) -> dict:
    """The TOML file's options, type-checked; relative file paths made relative to the file."""
    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise InputFileError(
            _("--scenario {path}: a scenario file must be a .toml file").format(path=path)
        )
    try:
        if not path.is_file():
            what = _("is a directory, not a file") if path.is_dir() else _("does not exist")
            raise InputFileError(_("--scenario {path} {what}").format(path=path, what=what))
    except OSError as error:  # e.g. a name longer than the system allows
        raise InputFileError(
            _("--scenario {path}…: {value}").format(
                path=str(path)[:80], value=error.strerror or error
            )
        ) from None
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as error:
        raise InputFileError(
            _("--scenario {path} is not valid TOML ({error})").format(path=path, error=error)
        ) from None
    except RecursionError:
        raise InputFileError(
            _("--scenario {path} nests arrays or tables too deeply").format(path=path)
        ) from None
    except ValueError as error:  # an integer of more than 4300 digits (Python's safety cap)
        raise InputFileError(
            _("--scenario {path} holds a number too long to read ({error})").format(
                path=path, error=str(error).split(":")[0]
            )
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputFileError(
            _("--scenario {path} could not be read ({error})").format(path=path, error=error)
        ) from None
    unknown = sorted(set(data) - set(SCENARIO_KEYS))
    if unknown:
        raise InputFileError(
            _(
                "--scenario {path} has unknown key(s) {repr}; the allowed keys are {SCENARIO_KEYS}"
            ).format(
                path=path,
                repr=", ".join(map(repr, unknown)),
                SCENARIO_KEYS=", ".join(SCENARIO_KEYS),
            )
        )
    for key, value in data.items():
        _check_type(path, key, value)
        if key in FILE_KEYS and isinstance(value, str) and not _looks_numeric(key, value):
            data[key] = str(path.parent / value)
    return data


def _looks_numeric(key: str, value: str) -> bool:
    return key == "target" and io.NUMBER.fullmatch(value.split(",")[0].strip()) is not None


def _check_type(path: Path, key: str, value) -> None:
    def is_pair(v):
        return isinstance(v, list) and len(v) == 2 and all(map(_is_int, v))

    if key in INT_KEYS:
        ok, expected = _is_int(value), _("an integer")
    elif key in PAIR_KEYS:
        ok, expected = _is_int(value) or is_pair(value), _("an integer or a pair [h, w]")
    elif key == "padding":
        ok = isinstance(value, str) or _is_int(value) or is_pair(value)
        ok = ok or (isinstance(value, list) and len(value) == 2 and all(map(is_pair, value)))
        expected = _('"valid", "same", an integer N or a pair [ph, pw]')
    elif key in TEXT_KEYS:
        ok, expected = isinstance(value, str), _("a string")
    elif key == "weights":
        ok, expected = isinstance(value, (str, dict)), _("a file name or a table of arrays")
    elif key in ("rgb", "normalize"):
        ok, expected = isinstance(value, bool), _("true or false")
    elif key == "resize":
        ok = _is_int(value) or isinstance(value, str)
        expected = _('an integer N or a string "HxW"')
    elif key == "input":
        ok = isinstance(value, (str, list))
        expected = _("a file name or nested lists of numbers")
    else:  # target
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = number or isinstance(value, (str, list))
        expected = _("a number, a list of numbers or a file name")
    if not ok:
        raise InputFileError(
            _("--scenario {path}: {key} must be {expected}, got {io}").format(
                path=path, key=key, expected=expected, io=describe_value(value)
            )
        )


# --------------------------------------------------------------------------- merging
def _hw(layer: dict) -> dict:
    """height/width of one layer of options (--height/--width win over --size)."""
    size = layer.get("size")
    out = {"height": layer.get("height", size), "width": layer.get("width", size)}
    return {k: v for k, v in out.items() if v is not None}


def spec_from_values(values: dict, explicit: set[str] | None = None) -> ScenarioSpec:
    """Options' values (CLI names) -> a ScenarioSpec with every file loaded.

    ``explicit``: the options given on the command line; they override the scenario file. With
    None, every value that differs from its default counts as given.
    """
    values = dict(values)
    scenario = values.pop("scenario", None)
    if explicit is None:
        explicit = {k for k, v in values.items() if v is not None and v != _default(k)}
    given = {k: v for k, v in values.items() if k in explicit and v is not None}
    from_file = read_scenario_file(scenario) if scenario else {}
    for layer, where in ((given, ""), (from_file, f" in {scenario}")):
        for key in ("size", "height", "width"):  # judged as typed, before size is split up
            if _is_int(layer.get(key)) and layer[key] < 1:
                raise ParameterError(
                    _("--{key} must be at least 1, got {layer}{where}").format(
                        key=key, layer=layer[key], where=where
                    )
                )
    merged = {**from_file, **given}
    _refuse_flags_with_net(given, from_file, scenario)
    merged.pop("size", None), merged.pop("height", None), merged.pop("width", None)
    merged.update({**_hw(from_file), **_hw(given)})

    arrays = {k: merged.pop(k) for k in FILE_KEYS if k in merged}
    picture = {k: merged.pop(k, v) for k, v in PICTURE_OPTIONS.items()}
    picture = {k: (v if v is not None else PICTURE_OPTIONS[k]) for k, v in picture.items()}
    check_picture_options(arrays.get("input"), picture)
    spec = ScenarioSpec().updated(**{k: tuple(v) if isinstance(v, list) else v
                                     for k, v in merged.items()})  # fmt: skip
    if isinstance(spec.padding, tuple) and spec.padding and isinstance(spec.padding[0], list):
        spec.padding = tuple(tuple(p) for p in spec.padding)
    cap = spec.max_elements if _is_int(spec.max_elements) else DEFAULT_MAX_ELEMENTS
    if scenario:
        spec.sources = {**spec.sources, "scenario": str(scenario)}
        if "weights" in from_file and "weights" not in given:
            spec.overridden = tuple(k for k in given if k in SHAPE_KEYS)
    try:
        return _load_arrays(spec, arrays, max(int(cap), 1), scenario, picture)
    except InputFileError as error:
        if scenario and not str(error).startswith(f"--scenario {scenario}"):
            key = str(error).split(" ", 1)[0].removeprefix("--")
            if key in arrays and key not in given:  # say where the value came from
                raise InputFileError(
                    _("{error} (from --scenario {scenario}, key {key})").format(
                        error=error, scenario=scenario, key=key
                    )
                ) from None
        raise


def _refuse_flags_with_net(given: dict, from_file: dict, scenario) -> None:
    """--net describes every layer: the single-layer options it replaces are refused beside it,
    wherever either comes from (the command line or the scenario file)."""
    from .net import NET_REPLACES

    if given.get("net") is None and from_file.get("net") is None:
        return
    clashing = [k for k in NET_REPLACES if k in given or k in from_file]
    if clashing:
        where = f" (in {scenario})" if any(k in from_file for k in clashing) else ""
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in clashing)
        raise ParameterError(
            _(
                "--net describes every layer, so {flags}{where} cannot be "
                "combined with it; write the layer's options inside --net, e.g. "
                "conv(4,3,stride=2,padding=same)"
            ).format(flags=flags, where=where)
        )


def _default(name: str):
    if name in ("size", "height", "width", "input", "weights", "target", "pool_stride"):
        return None
    if name in PICTURE_OPTIONS:
        return PICTURE_OPTIONS[name]
    return getattr(ScenarioSpec(), name, None)


def _load_arrays(
    spec: ScenarioSpec, arrays: dict, cap: int, scenario, picture=None
) -> ScenarioSpec:
    """Load input / weights / target (file names, or numbers written inline in the TOML);
    ``picture``: how a picture --input is read (rgb, resize, normalize)."""
    sources = dict(spec.sources)
    inline = f"{scenario} " if scenario else ""
    if "input" in arrays:
        value = arrays["input"]
        if isinstance(value, list):
            name = f"{inline}(input)"
            spec.input = io.as_input(io.nested_array(value, name, "--input"), name)
        elif is_picture(value):
            spec.input = load_picture(value, cap, **(picture or {}))
            name = str(value)
        else:
            spec.input = io.load_input(value, cap)
            name = str(value)
        sources["input"] = name
    if "weights" in arrays:
        value = arrays["weights"]
        if isinstance(value, dict):
            named = io.weights_from_mapping(value, f"{inline}[weights]")
            label = f"{inline}[weights]"
        else:
            named, label = io.load_weights(value, cap), str(value)
        # by layer name (conv.weight, conv2.bias), or a state dict's by position (3.weight)
        spec.params = {**spec.params, **named}
        sources.update({key: f"{label} ({key})" for key in named})
    if "target" in arrays:
        value = arrays["target"]
        if isinstance(value, list):
            name = f"{inline}(target)"
            spec.target, sources["target"] = io.nested_array(value, name, "--target"), name
        elif isinstance(value, (int, float)):
            spec.target, sources["target"] = np.asarray(float(value)), f"--target {value}"
        else:
            spec.target, source = io.load_target(value, cap)
            sources["target"] = source or f"--target {value}"
    spec.sources = {k: v for k, v in sources.items() if v}
    return spec


# --------------------------------------------------------------------------- saving
def _toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, except that TOML also forbids a raw
    DEL; text that is not valid Unicode (a file name's undecodable bytes) cannot be written."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputFileError(
            _(
                "--save-scenario: the name {text!r} is not valid UTF-8, so no TOML file can hold it"
            ).format(text=text)
        ) from None
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value) -> str:
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(int(value))


def save_scenario(scenario: Scenario, directory) -> Path:
    """Write ``directory/scenario.toml`` and ``directory/arrays.npz`` (the input, every layer's
    weight and bias by layer name, the target) so ``--scenario`` replays exactly this run."""
    directory = Path(directory)
    try:
        if directory.exists() and not directory.is_dir():
            raise InputFileError(
                _("--save-scenario {directory} exists and is not a directory").format(
                    directory=directory
                )
            )
        directory.mkdir(parents=True, exist_ok=True)
        s = scenario
        np.savez(directory / "arrays.npz", input=s.x, **s.params, target=s.target)
        n, c, h, w = s.x.shape
        if s.net is not None:  # the whole network, as --net writes it
            layers = {"net": s.net, **({"bn_mode": s.bn_mode} if s.has_bn else {})}
        else:
            layers = {
                "stride": s.stride,
                "padding": s.padding,
                "dilation": s.dilation,
                "activation": s.activation,
                "pool": s.pool,
                "pool_size": s.pool_size,
                "pool_stride": s.pool_stride,
            }
        options = {
            "seed": s.seed,
            **layers,
            "loss": s.loss,
            "method": s.method,
            "dtype": s.dtype,
            **({"bug": s.bug} if s.bug else {}),  # a planted bug replays as planted
            "input": "arrays.npz",
            "weights": "arrays.npz",
            "target": "arrays.npz",
        }
        shapes = ", ".join(f"{key} {'×'.join(map(str, a.shape))}"
                           for key, a in s.params.items() if key.endswith(".weight"))  # fmt: skip
        lines = [
            "# convtrace scenario, written by `convtrace run --save-scenario`.",
            # A comment ends at a newline: write the path escaped, as a TOML string.
            f"# Replay it: convtrace run --scenario {_toml_string(str(directory))}/scenario.toml",
            f"# arrays.npz: input {n}×{c}×{h}×{w}, {shapes}; the counts (batch, channels, "
            "size, filters, kernel, classes) follow from these arrays.",
            "",
            *(f"{key} = {_toml_value(value)}" for key, value in options.items()),
        ]
        (directory / "scenario.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as error:
        raise InputFileError(
            _("--save-scenario {directory} could not be written ({value})").format(
                directory=str(directory)[:80], value=error.strerror or error
            )
        ) from None
    return directory / "scenario.toml"
