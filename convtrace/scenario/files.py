"""Reading the user's arrays from files, safely: a file is data, never code.

Formats (by suffix)::

    .npy          one array                  np.load(allow_pickle=False), header checked first
    .npz          several named arrays       each member read with allow_pickle=False
    .pt / .pth    a tensor or a state dict   torch.load(weights_only=True, map_location="cpu")
    .json         nested lists of numbers    (a weights file: an object of such lists)
    .csv / .txt   rows of numbers            comma- or whitespace-separated; one channel

Every failure is an ``InputFileError`` whose sentence names the option, the file and the reason.
Only numeric arrays come out: object arrays are refused before anything is unpickled, and the
element count of a ``.npy``/``.npz`` member is checked from its header before it is read.
torch is imported only inside the ``.pt`` reader.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..core.errors import ConvtraceError, InputFileError
from ..i18n import _
from .readers import (
    NUMBER,
    _json_array,
    _read_json,
    _read_npy,
    _read_npz,
    _read_text,
    _read_torch,
    _Refused,
)
from .validation import check_finite, check_numeric

ARRAY_SUFFIXES = (".npy", ".npz", ".pt", ".pth", ".json", ".csv", ".txt")
WEIGHT_SUFFIXES = (".npz", ".pt", ".pth", ".json")
WEIGHT_KEYS = ("conv.weight", "conv.bias", "fc.weight", "fc.bias")
# A bundle written by --save-scenario also holds these; --weights leaves them to their options.
BUNDLE_KEYS = ("input", "target")


# --------------------------------------------------------------------------- public API
def load_input(path, max_elements: int, option: str = "--input") -> np.ndarray:
    """An input image from a file, as (N, C, H, W) (see ``as_input``)."""
    return as_input(load_array(path, option, max_elements, keys=("input", "x")), f"{option} {path}")


def as_input(array: np.ndarray, name: str) -> np.ndarray:
    """(H, W) -> (1, 1, H, W), (C, H, W) -> (1, C, H, W), (N, C, H, W) as is; others refused."""
    if array.ndim not in (2, 3, 4):
        raise InputFileError(
            _(
                "{name} has {ndim} dimension(s) (shape {shape}); give (H, W), "
                "(C, H, W) or (N, C, H, W)"
            ).format(name=name, ndim=array.ndim, shape=array.shape)
        )
    return array.reshape((1,) * (4 - array.ndim) + array.shape)


def nested_array(obj, what: str, option: str) -> np.ndarray:
    """Numbers written inline (a scenario file's lists) -> a checked array."""
    try:
        array = _json_array(obj, "")
    except _Refused as reason:
        raise InputFileError(
            _("{option} {what}: {reason}").format(option=option, what=what, reason=reason)
        ) from None
    return _checked(array, option, what)


def weights_from_mapping(mapping: dict, label: str) -> dict[str, np.ndarray]:
    """An inline table {key: nested lists} (a scenario file's [weights]) -> checked arrays."""
    try:
        named = {k: _json_array(v, _("key {key!r}").format(key=k)) for k, v in mapping.items()}
    except _Refused as reason:
        raise InputFileError(
            _("--weights {label}: {reason}").format(label=label, reason=reason)
        ) from None
    return _accepted_weights(named, "--weights", label)


def load_target(value: str, max_elements: int, option: str = "--target"):
    """``--target``: a number, comma-separated numbers, or a file. Returns (array, file or None)."""
    text = str(value).strip()
    shown = repr(text if len(text) <= 40 else text[:37] + "...")
    parts = [p.strip() for p in text.split(",")]
    if text and all(NUMBER.fullmatch(p) for p in parts):
        numbers = np.array([float(p) for p in parts])
        check_finite(numbers, f"{option} {shown}")
        return (numbers[0] if len(numbers) == 1 else numbers), None
    path = Path(text)
    try:
        exists = path.exists()
    except OSError:  # e.g. a name longer than the system allows: not a file we can read
        exists = False
    if path.suffix.lower() in ARRAY_SUFFIXES or exists:
        return load_array(path, option, max_elements, keys=("target", "y")), str(path)
    raise InputFileError(
        _(
            "{option} {shown} is neither a number, a comma-separated list of "
            "numbers, nor a file ({ARRAY_SUFFIXES})"
        ).format(option=option, shown=shown, ARRAY_SUFFIXES=", ".join(ARRAY_SUFFIXES))
    )


def load_weights(path, max_elements: int, option: str = "--weights") -> dict[str, np.ndarray]:
    """A weights file -> {key: array} for the keys of WEIGHT_KEYS it holds (torch's names)."""
    suffix = _suffix(path, option, WEIGHT_SUFFIXES)
    try:
        if suffix == ".npz":
            named = _read_npz(path, max_elements)
        elif suffix == ".json":
            obj = _read_json(path, max_elements)
            if not isinstance(obj, dict):
                raise _Refused(
                    _("must hold a JSON object mapping keys such as conv.weight to lists")
                )
            named = {k: _json_array(v, _("key {key!r}").format(key=k)) for k, v in obj.items()}
        else:
            named = _read_torch(path, max_elements)
            if not isinstance(named, dict):
                raise _Refused(_("must hold a state dict (a dict of tensors), not a single tensor"))
    except _Refused as reason:
        raise InputFileError(
            _("{option} {path}: {reason}").format(option=option, path=path, reason=reason)
        ) from None
    return _accepted_weights(named, option, str(path))


#: ``<layer name>.weight`` / ``.bias`` (conv, conv2, fc1, …; a bn's ``.running_mean`` and
#: ``.running_var`` too), or a torch ``nn.Sequential`` state dict's ``<position>.weight`` /
#: ``.bias`` (0.weight, 3.bias), mapped by position later.
PARAM_KEY = re.compile(r"^(?:[a-z]+\d*|\d+)\.(?:weight|bias|running_mean|running_var)$")
#: a BatchNorm's step counter in a torch state dict: read by nothing convtrace computes
IGNORED_KEY = re.compile(r"^(?:[a-z]+\d*|\d+)\.num_batches_tracked$")


def _accepted_weights(named: dict, option: str, label: str) -> dict[str, np.ndarray]:
    named = {k: v for k, v in named.items()
             if k not in BUNDLE_KEYS and not IGNORED_KEY.match(str(k))}  # fmt: skip
    extra = sorted(k for k in named if not PARAM_KEY.match(str(k)))
    if extra:
        raise InputFileError(
            _(
                "{option} {label} has unknown key(s) {repr}; the accepted keys "
                "are <layer>.weight and <layer>.bias ({WEIGHT_KEYS}, "
                "conv2.weight, …; a bn's also <layer>.running_mean and .running_var), or a "
                "torch nn.Sequential's state dict (0.weight, 3.bias, …)"
            ).format(
                option=option,
                label=label,
                repr=", ".join(map(repr, extra)),
                WEIGHT_KEYS=", ".join(WEIGHT_KEYS),
            )
        )
    if not named:
        raise InputFileError(
            _("{option} {label} holds none of the keys {WEIGHT_KEYS}").format(
                option=option, label=label, WEIGHT_KEYS=", ".join(WEIGHT_KEYS)
            )
        )
    return {k: _checked(v, option, f"{label} ({k})") for k, v in named.items()}


def load_array(path, option: str, max_elements: int, keys=("input", "x")) -> np.ndarray:
    """One numeric, finite array from any supported file (for a .npz or a state dict: its only
    array, or the first of ``keys`` it holds)."""
    suffix = _suffix(path, option, ARRAY_SUFFIXES)
    try:
        if suffix == ".npy":
            array = _read_npy(path, max_elements)
        elif suffix == ".npz":
            array = _pick(_read_npz(path, max_elements), keys)
        elif suffix == ".json":
            array = _json_array(_read_json(path, max_elements), "")
        elif suffix in (".csv", ".txt"):
            array = _read_text(path, max_elements)
        else:
            loaded = _read_torch(path, max_elements)
            array = _pick(loaded, keys) if isinstance(loaded, dict) else loaded
    except _Refused as reason:
        raise InputFileError(
            _("{option} {path}: {reason}").format(option=option, path=path, reason=reason)
        ) from None
    return _checked(array, option, str(path))


# --------------------------------------------------------------------------- helpers
def _suffix(path, option: str, allowed) -> str:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise InputFileError(
            _("{option} {path}: unsupported file type {value!r}; use one of {allowed}").format(
                option=option, path=path, value=suffix or "(no suffix)", allowed=", ".join(allowed)
            )
        )
    try:
        if not path.is_file():
            what = _("is a directory, not a file") if path.is_dir() else _("does not exist")
            raise InputFileError(
                _("{option} {path} {what}").format(option=option, path=path, what=what)
            )
    except OSError as error:  # e.g. a name longer than the system allows
        raise InputFileError(
            _("{option} {path}…: {value}").format(
                option=option, path=str(path)[:80], value=error.strerror or error
            )
        ) from None
    return suffix


def _checked(array: np.ndarray, option: str, name: str) -> np.ndarray:
    """Numeric dtype, at least one element, finite (index given in the file's own layout)."""
    try:
        array = check_numeric(array, f"{option} {name}")
        if array.size == 0:
            raise InputFileError(
                _("{option} {name} holds no numbers (shape {shape})").format(
                    option=option, name=name, shape=array.shape
                )
            )
        check_finite(array, f"{option} {name}")
    except ConvtraceError as error:  # the shared rule, reported as a problem of this file
        raise InputFileError(str(error)) from None
    return array


def _pick(named: dict, keys) -> np.ndarray:
    if len(named) == 1:
        return next(iter(named.values()))
    for key in keys:
        if key in named:
            return named[key]
    found = ", ".join(map(repr, named)) or _("none")
    raise _Refused(
        _("holds the arrays {found}; keep only one, or name it {keys}").format(
            found=found, keys=" or ".join(keys)
        )
    )
