"""What comes back from the child, read as data from an adversary.

A reply is a frame (8-byte big-endian length, then an ``.npz`` archive: the JSON header as
uint8 under ``__header__`` and the arrays). The student's code runs in the child and can write
anything on that pipe, so before anything is used:

- the frame's length is capped (``MAX_FRAME``) before it is read;
- every archive member must be stored (no compression: a small zip cannot inflate into
  gigabytes), have a known name, and a ``.npy`` header whose dtype is a plain float64 or
  integer/bool of at most 8 bytes and whose shape has at most 4 axes and at most
  ``MAX_ELEMENTS`` elements; the header is read and checked before any data;
- the JSON header is capped (``MAX_HEADER``), parsed strictly (no NaN), and must carry a known
  ``status``;
- a message is an id from ``MESSAGES`` (this process's own templates) with fields that are
  ints or short strings, each made ``visible`` (``escape``); the child never sends a template,
  so nothing it sends is ever used as a format string.
Anything else is ``TransportError``: the sandbox reports "sent an unreadable result".
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from ..i18n import N_, Msg
from .escape import visible

MAX_FRAME = 96 * 1024 * 1024
MAX_HEADER = 64 * 1024
MAX_ELEMENTS = 2_000_000  # per array; the worker refuses bigger ones itself (same number)
MAX_FIELD = 160
ARRAYS = {"out", "dF", "dX", "db", "weights_after", "running_mean", "running_var"}
STATUSES = {"loaded", "ok", "error", "setup", "load"}
KINDS = {"conv", "pool", "affine", "relu", "bn", "sbn"}  # what a cs231n file may define

#: id -> (template, its fields). The child sends the id and the fields' values, never text
#: to format; these are the only templates a reply can be shown with.
MESSAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "exit": (N_("called sys.exit({code})"), ("code",)),
    "raised": (N_("raised {kind}"), ("kind",)),
    "raised_message": (N_("raised {kind}: {message}"), ("kind", "message")),
    "raised_line": (N_("raised {kind} at line {line}"), ("kind", "line")),
    "raised_message_line": (
        N_("raised {kind}: {message} at line {line}"),
        ("kind", "message", "line"),
    ),
    "forbidden_import": (
        N_(
            "imports {module}, which this assignment forbids (the teacher can allow it with "
            "--allow torch)"
        ),
        ("module", "line"),
    ),
    "missing_module": (
        N_(
            "imports a module the grader does not have: {module} (the grader offers numpy, the "
            "standard library and CS231n's cs231n.im2col)"
        ),
        ("module", "line"),
    ),
    "weight_attr_missing": (
        N_("--weight-attr {given}: the object has no ndarray attribute {given}"),
        ("given",),
    ),
    "no_weights": (
        N_(
            "found no weights: looked for an ndarray attribute of shape {shape} (F, C, k, k) "
            "after the first forward; name it with --weight-attr"
        ),
        ("shape",),
    ),
    "several_weights": (
        N_("several attributes look like the weights ({names}): name one with --weight-attr"),
        ("names",),
    ),
    "bias_attr_missing": (
        N_("--bias-attr {given}: the object has no ndarray attribute {given}"),
        ("given",),
    ),
    "several_bias": (
        N_("several attributes look like the bias ({names}): name one with --bias-attr"),
        ("names",),
    ),
    "no_function": (N_("has no function {name}"), ("name",)),
    "returned_none": (N_("returned None ({what} is None)"), ("what",)),
    "no_class_defines": (
        N_("has no class {name} (it defines: {classes}); name it with --class"),
        ("name", "classes"),
    ),
    "no_class": (
        N_("has no class {name} (it defines no class); name it with --class"),
        ("name",),
    ),
    "no_method": (N_("class {name} has no method {method}"), ("name", "method")),
    "bad_signature": (
        N_(
            "class {name}{signature} cannot be called as {name}(filters, kernel_size, stride, "
            "padding)"
        ),
        ("name", "signature"),
    ),
}


class TransportError(Exception):
    """The child sent something that is not a well-formed reply."""


def _field(value) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TransportError("field type")
    if isinstance(value, int):
        if abs(value) > 10**12:
            raise TransportError("field range")
        return value
    return visible(value, width=MAX_FIELD)


def message(reply: dict) -> Msg:
    """The reply's message as a Msg of this process's own template."""
    entry = MESSAGES.get(reply.get("id"))
    fields = reply.get("fields")
    if entry is None or not isinstance(fields, dict):
        raise TransportError("message id")
    return Msg(entry[0], **message_fields(reply))


def message_fields(reply: dict) -> dict:
    """The message's fields, each checked (an int, or a string made ``visible``)."""
    entry, fields = MESSAGES.get(reply.get("id")), reply.get("fields")
    if entry is None or not isinstance(fields, dict):
        raise TransportError("message id")
    names = entry[1]
    if set(fields) - set(names) or not set(names) - {"line"} <= set(fields):
        raise TransportError("message fields")
    values = {name: _field(fields[name]) for name in names if name in fields}
    if "line" not in values:
        values["line"] = ""
    return values


def _check_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> int:
    """The member's element count, after its .npy header passed (nothing else read)."""
    name = info.filename.removesuffix(".npy")
    if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
        raise TransportError("compressed member")
    if name != "__header__" and name not in ARRAYS:
        raise TransportError("unknown member")
    with archive.open(info) as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise TransportError("npy version")
        offset = handle.tell()
    if name == "__header__":
        if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_HEADER:
            raise TransportError("header member")
    elif dtype.kind not in "fiub" or dtype.itemsize > 8 or dtype.hasobject or len(shape) > 4:
        raise TransportError("array dtype or rank")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count > MAX_ELEMENTS or count * dtype.itemsize > budget:
        raise TransportError("array too big")
    if info.file_size != offset + count * dtype.itemsize or fortran:
        raise TransportError("array size")
    return count * dtype.itemsize


def decode_reply(data: bytes) -> tuple[dict, dict]:
    """(header, arrays) from one reply body, every part checked first."""
    if len(data) > MAX_FRAME:
        raise TransportError("frame too big")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        if len(infos) > len(ARRAYS) + 1 or len({i.filename for i in infos}) != len(infos):
            raise TransportError("members")
        budget = MAX_FRAME
        for info in infos:
            budget -= _check_member(archive, info, budget)
        arrays = {}
        for info in infos:
            with archive.open(info) as handle:
                arrays[info.filename.removesuffix(".npy")] = np.lib.format.read_array(
                    handle, allow_pickle=False
                )
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise TransportError(str(error)[:80]) from None
    raw = arrays.pop("__header__", None)
    if raw is None:
        raise TransportError("no header")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TransportError("header json") from error
    return check_header(header), {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}


def _no_constant(name: str):
    raise TransportError(f"JSON constant {name}")


def check_header(header) -> dict:
    """The reply's fields this process uses, each of the type it expects, text escaped."""
    if not isinstance(header, dict) or header.get("status") not in STATUSES:
        raise TransportError("status")
    clean: dict = {"status": header["status"]}
    if "id" in header:
        clean["message"] = message(header)
        clean["fields"] = message_fields(header)  # diagnose reads the error's kind and text
    clean["returned_none"] = header.get("returned_none") is True
    present = header.get("present", [])
    if not isinstance(present, list) or not all(isinstance(k, str) for k in present):
        raise TransportError("present")
    clean["present"] = [k for k in present if k in KINDS]
    printed = header.get("printed", 0)
    if isinstance(printed, bool) or not isinstance(printed, int) or not 0 <= printed < 2**62:
        raise TransportError("printed")
    clean["printed"] = printed
    clean["pool"] = header.get("pool") is True
    for key in ("weight", "bias"):
        value = header.get(key)
        if value is not None and not isinstance(value, str):
            raise TransportError(key)
        clean[key] = None if value is None else visible(value, width=MAX_FIELD)
    return clean
