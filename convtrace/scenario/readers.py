"""One reader per file format (.npy, .npz, .pt, .json, .csv/.txt): a file is data, never code.

Each reader raises ``_Refused`` with a reason; :mod:`convtrace.scenario.files` turns it into an
``InputFileError`` that names the option and the file. Sizes are checked before anything is
read (a ``.npy`` member's element count from its header; the bytes of a text file), object
arrays are refused before anything is unpickled, and torch is imported only inside the ``.pt``
reader (``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np

from ..i18n import _, plural

#: Lists nested deeper than this are no array convtrace uses (numpy stops at 64 anyway).
MAX_NESTING = 8
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.I)


class _Refused(Exception):
    """A reason, turned into an InputFileError naming the option and the file by the caller."""


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
