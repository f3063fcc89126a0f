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

import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np

from ..core.errors import ConvtraceError, InputFileError
from ..i18n import _, plural
from .validation import check_finite, check_numeric

ARRAY_SUFFIXES = (".npy", ".npz", ".pt", ".pth", ".json", ".csv", ".txt")
WEIGHT_SUFFIXES = (".npz", ".pt", ".pth", ".json")
WEIGHT_KEYS = ("conv.weight", "conv.bias", "fc.weight", "fc.bias")
# A bundle written by --save-scenario also holds these; --weights leaves them to their options.
BUNDLE_KEYS = ("input", "target")
#: Lists nested deeper than this are no array convtrace uses (numpy stops at 64 anyway).
MAX_NESTING = 8
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.I)


class _Refused(Exception):
    """A reason, turned into an InputFileError naming the option and the file by the caller."""


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


#: ``<layer name>.weight`` / ``.bias`` (conv, conv2, fc1, …), or a torch ``nn.Sequential``
#: state dict's ``<position>.weight`` / ``.bias`` (0.weight, 3.bias), mapped by position later.
PARAM_KEY = re.compile(r"^(?:[a-z]+\d*|\d+)\.(?:weight|bias)$")


def _accepted_weights(named: dict, option: str, label: str) -> dict[str, np.ndarray]:
    named = {k: v for k, v in named.items() if k not in BUNDLE_KEYS}
    extra = sorted(k for k in named if not PARAM_KEY.match(str(k)))
    if extra:
        raise InputFileError(
            _(
                "{option} {label} has unknown key(s) {repr}; the accepted keys "
                "are <layer>.weight and <layer>.bias ({WEIGHT_KEYS}, "
                "conv2.weight, …), or a torch nn.Sequential's state dict "
                "(0.weight, 3.bias, …)"
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


def _too_many(count: int, max_elements: int, what: str | None = None) -> _Refused:
    what = _("it holds") if what is None else what
    return _Refused(
        _(
            "{what} {count:,} numbers, more than the limit of "
            "{max_elements:,}; use a smaller array or raise --max-elements"
        ).format(what=what, count=count, max_elements=max_elements)
    )


def _check_file_size(path, max_elements: int) -> None:
    """Text and torch files are parsed whole: refuse ones far beyond the element cap first."""
    size = Path(path).stat().st_size
    if size > 32 * max_elements + 2**20:
        raise _Refused(
            _(
                "is {size:.0f} MiB, too big for the limit of {max_elements:,} "
                "numbers (raise --max-elements to allow it)"
            ).format(size=size / 2**20, max_elements=max_elements)
        )


def _npy_from(fileobj, max_elements: int) -> np.ndarray:
    """Read one .npy stream, judging its header (dtype, element count) before the data."""
    try:
        version = np.lib.format.read_magic(fileobj)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fileobj)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fileobj)
    except (ValueError, OSError, EOFError) as error:
        raise _Refused(_("is not a valid .npy file ({error})").format(error=error)) from None
    if dtype.hasobject:
        raise _Refused(
            _(
                "holds Python objects (dtype object), which could only be read "
                "by unpickling code from the file; save a numeric array instead"
            )
        )
    if any(d < 0 for d in shape) or len(shape) > MAX_NESTING:
        shown = (
            str(tuple(shape))
            if len(shape) <= MAX_NESTING
            else _("of {count} dimensions").format(count=len(shape))
        )
        raise _Refused(
            _("has a damaged or foreign header: it declares a shape {shown}").format(shown=shown)
        )
    count = math.prod(shape)
    if count > max_elements:
        raise _too_many(
            count, max_elements, _("has shape {shape}, that is").format(shape=tuple(shape))
        )
    try:
        # Read exactly what the header announces: trailing bytes are never decompressed.
        data = fileobj.read(count * dtype.itemsize)
        array = np.frombuffer(data, dtype=dtype, count=count)
    except (ValueError, OSError) as error:
        raise _Refused(_("is truncated or damaged ({error})").format(error=error)) from None
    order = "F" if fortran else "C"
    return array.reshape(shape, order=order).copy()


def _read_npy(path, max_elements: int) -> np.ndarray:
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise _Refused(_("is not a NumPy .npy file (it does not start with the .npy header)"))
        f.seek(0)
        return _npy_from(f, max_elements)


def _read_npz(path, max_elements: int) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise _Refused(_("is not a NumPy .npz file (not a zip archive)"))
    out: dict[str, np.ndarray] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    raise _Refused(
                        _("has a member {member!r} that is not a .npy array").format(member=member)
                    )
                with archive.open(member) as f:
                    try:
                        array = _npy_from(f, max_elements - total)
                    except _Refused as reason:
                        raise _Refused(
                            _("array {member!r} {reason}").format(member=member[:-4], reason=reason)
                        ) from None
                total += array.size
                out[member[:-4]] = array
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise _Refused(_("is a damaged .npz archive ({error})").format(error=error)) from None
    if not out:
        raise _Refused(_("holds no arrays"))
    return out


def _read_torch(path, max_elements: int):
    """A tensor, or a dict of tensors, as numpy arrays. weights_only=True: no code runs."""
    _check_file_size(path, max_elements)
    with open(path, "rb") as f:
        legacy = f.read(1) == b"\x80"  # torch.save's old format: a pickle (PROTO opcode)
    if not (zipfile.is_zipfile(path) or legacy):
        raise _Refused(_("is not a file saved by torch.save (neither a zip archive nor a pickle)"))
    import pickle

    import torch

    try:
        import warnings

        with warnings.catch_warnings():  # torch's deprecation notes are not the user's problem
            warnings.simplefilter("ignore")
            loaded = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:  # torch reports damage with many exception types
        if isinstance(error, pickle.UnpicklingError) and "Weights only" in str(error):
            raise _Refused(
                _(
                    "holds more than tensors (loading it would run code stored in "
                    "the file), so it was not loaded; save only a tensor or a state "
                    "dict with torch.save"
                )
            ) from None
        first = (str(error).strip().splitlines() or [""])[0][:120]
        raise _Refused(
            _("is not a file saved by torch.save, or it is damaged ({name}: {first})").format(
                name=type(error).__name__, first=first
            )
        ) from None

    def to_numpy(value, what):
        if not isinstance(value, torch.Tensor):
            raise _Refused(
                _("{what} is a {name}, not a tensor").format(what=what, name=type(value).__name__)
            )
        if value.layout != torch.strided or value.is_quantized or value.is_meta:
            kind = "quantized" if value.is_quantized else "meta" if value.is_meta else "sparse"
            raise _Refused(
                _("{what} is a {kind} tensor; save an ordinary dense tensor").format(
                    what=what, kind=kind
                )
            )
        value = value.detach().cpu()
        if value.is_floating_point() and value.dtype not in (torch.float32, torch.float64):
            value = value.float()  # float16/bfloat16: numpy cannot hold bfloat16
        if value.is_complex() or value.dtype == torch.bool:
            raise _Refused(
                _("{what} holds {dtype}, not real numbers").format(what=what, dtype=value.dtype)
            )
        return value.numpy()

    if isinstance(loaded, dict):
        return {str(k): to_numpy(v, _("entry {key!r}").format(key=k)) for k, v in loaded.items()}
    return to_numpy(loaded, _("its content"))


def _read_json(path, max_elements: int):
    _check_file_size(path, max_elements)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except UnicodeDecodeError:
        raise _Refused(_("is not a UTF-8 text file")) from None
    except json.JSONDecodeError as error:
        raise _Refused(
            _("is not valid JSON ({msg} at line {lineno}, column {colno})").format(
                msg=error.msg, lineno=error.lineno, colno=error.colno
            )
        ) from None
    except RecursionError:
        raise _Refused(_("is nested too deeply to be an array")) from None


def describe_value(value) -> str:
    """A value from a JSON or TOML file, shown short with its kind (a date, a table, …)."""
    import datetime

    kinds = {type(None): "null", bool: _("a boolean"), str: _("a string"), dict: _("a table"),
             list: _("a list"), datetime.datetime: _("a date-time"), datetime.date: _("a date"),
             datetime.time: _("a time")}  # fmt: skip
    shown = json.dumps(value, default=str)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"{shown} ({kinds.get(type(value), type(value).__name__)})"


def _json_array(obj, what: str) -> np.ndarray:
    """Nested lists of numbers -> an array; refuse booleans, strings, null, ragged or empty.

    ``what`` prefixes the location in messages (e.g. "key 'conv.weight'"), or is empty.
    """

    def label(where: str) -> str:
        entry = _("entry {where}").format(where=where) if where else ""
        return " ".join(p for p in (what, entry) if p) or _("it")

    def described(shape: tuple) -> str:
        if not shape:
            return _("is a single number")
        if len(shape) == 1:
            return plural("has {n} entry", "has {n} entries", shape[0])
        return _("has shape {shape}").format(shape=shape)

    def shape_of(node, where: str) -> tuple[int, ...]:
        if isinstance(node, bool) or not isinstance(node, (int, float, list)):
            raise _Refused(
                _("{where} is {node}, not a number").format(
                    where=label(where), node=describe_value(node)
                )
            )
        if not isinstance(node, list):
            return ()
        if not node:
            raise _Refused(_("{where} is an empty list, not numbers").format(where=label(where)))
        shapes = [shape_of(child, f"{where}[{i}]") for i, child in enumerate(node)]
        for i, s in enumerate(shapes):
            if s != shapes[0]:
                raise _Refused(
                    _(
                        "{label} is ragged: entry {where}[{i}] {s} but entry {where}[0] "
                        "{shapes}; every row must have the same length"
                    ).format(
                        label=label(""),
                        where=where,
                        i=i,
                        s=described(s),
                        shapes=described(shapes[0]),
                    )
                )
        return (len(node),) + shapes[0]

    try:
        shape = shape_of(obj, "")
    except RecursionError:
        raise _Refused(_("{label} is nested too deeply").format(label=label(""))) from None
    if len(shape) > MAX_NESTING:
        raise _Refused(
            _(
                "{label} is lists nested {shape} deep; an array here has at most "
                "4 dimensions (N, C, H, W)"
            ).format(label=label(""), shape=len(shape))
        )
    try:
        return np.array(obj, dtype=np.float64)
    except OverflowError:
        raise _Refused(
            _("{label} holds an integer too large for a float").format(label=label(""))
        ) from None


def _read_text(path, max_elements: int) -> np.ndarray:
    """Rows of numbers (comma- or whitespace-separated); blank lines and ``#`` lines skipped."""
    _check_file_size(path, max_elements)
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise _Refused(_("is not a UTF-8 text file")) from None
    rows: list[list[float]] = []
    first_line = 0
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        cells = [c.strip() for c in text.split(",")] if "," in text else text.split()
        for column, cell in enumerate(cells, start=1):
            if not NUMBER.fullmatch(cell):
                shown = repr(cell) if cell else _("empty")
                raise _Refused(
                    _("line {number}, column {column} is {shown}, not a number").format(
                        number=number, column=column, shown=shown
                    )
                )
        if rows and len(cells) != len(rows[0]):
            raise _Refused(
                _(
                    "line {number} has {cells} numbers but line {first_line} has "
                    "{rows}; every row must have the same length"
                ).format(number=number, cells=len(cells), first_line=first_line, rows=len(rows[0]))
            )
        if not rows:
            first_line = number
        rows.append([float(c) for c in cells])
    if not rows:
        raise _Refused(_("holds no numbers"))
    return np.array(rows)
