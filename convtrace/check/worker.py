"""The child process of ``convtrace check``: loads ONE student file and runs the cases sent to it.

Run as a script (``python -I -B worker.py CMD_FD RESULT_FD``); it imports numpy and the standard
library only (never convtrace, never torch). Before the student's file is loaded it sets its own
limits: address space (``RLIMIT_AS``), file size 0 (``RLIMIT_FSIZE``: the student's code cannot
write bytes to any file; SIGXFSZ is ignored so a write fails instead of killing us), no core
dumps, and a CPU-time backstop. The student's prints go to a writer that keeps the first
``PRINT_CAP`` bytes (on the stdout pipe the parent drains) and only counts the rest.

Messages both ways are frames: an 8-byte big-endian length, then an ``.npz`` archive holding
the arrays and a JSON header (key ``__header__``, as uint8). The parent reads them with
``allow_pickle=False``: nothing the child sends can run code in the parent.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys

import numpy as np

PRINT_CAP = 4096
MAX_ELEMENTS = 10_000_000  # bigger returned arrays are refused, not sent


# --------------------------------------------------------------------------- frames
def encode_frame(header: dict, arrays: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    payload = {k: np.asarray(v) for k, v in (arrays or {}).items()}
    payload["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(buffer, **payload)
    data = buffer.getvalue()
    return len(data).to_bytes(8, "big") + data


def decode_frame(data: bytes) -> tuple[dict, dict]:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    header = json.loads(arrays.pop("__header__").tobytes().decode())
    return header, arrays


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks, got = [], 0
    while got < size:
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int):
    head = _read_exact(fd, 8)
    if head is None:
        return None
    body = _read_exact(fd, int.from_bytes(head, "big"))
    return None if body is None else decode_frame(body)


def write_frame(fd: int, header: dict, arrays: dict | None = None) -> None:
    data = memoryview(encode_frame(header, arrays))
    while data:
        data = data[os.write(fd, data) :]


# --------------------------------------------------------------------------- limits, prints
def apply_limits(memory_bytes: int, cpu_seconds: int) -> None:
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limits = [
        (resource.RLIMIT_AS, memory_bytes),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_CPU, cpu_seconds),
    ]
    for which, value in limits:
        _, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, hard))


class BoundedWriter(io.TextIOBase):
    """sys.stdout/stderr for the student: the first PRINT_CAP bytes reach fd 1, the rest is
    only counted (a flood of prints neither fills memory nor the pipe)."""

    def __init__(self):
        self.total = 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        data = str(text).encode("utf-8", "replace")
        room = PRINT_CAP - self.total
        if room > 0:
            try:
                os.write(1, data[:room])
            except OSError:
                pass
        self.total += len(data)
        return len(text)


# --------------------------------------------------------------------------- errors
def N_(message: str) -> str:
    """Marks a sentence for convtrace's catalog (convtrace.i18n is not imported here: the
    parent translates ``template`` with ``fields`` when it shows the message)."""
    return message


def said(template: str, **fields) -> dict:
    """A reply's message: the English text, and its template and fields for the parent."""
    return {"message": template.format(**fields), "template": template, "fields": fields}


def describe_exception(error: BaseException, path: str) -> dict:
    """'raised IndexError: message at line 42' (the last line of the student's file in the
    traceback), or 'called sys.exit(3)', as ``said`` gives it."""
    import traceback

    if isinstance(error, SystemExit):
        return said(N_("called sys.exit({code})"), code=repr(error.code))
    line = None
    real = os.path.realpath(path)
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.realpath(frame.filename) == real:
            line = frame.lineno
    message = str(error).splitlines()[0] if str(error) else ""
    if isinstance(error, SyntaxError) and error.lineno:
        line, message = error.lineno, error.msg
    message = message[:160] + ("…" if len(message) > 160 else "")
    kind = type(error).__name__
    if line and message:
        return said(N_("raised {kind}: {message} at line {line}"), kind=kind, message=message,
                    line=line)  # fmt: skip
    if message:
        return said(N_("raised {kind}: {message}"), kind=kind, message=message)
    if line:
        return said(N_("raised {kind} at line {line}"), kind=kind, line=line)
    return said(N_("raised {kind}"), kind=kind)


class SetupError(Exception):
    """The grader cannot find what it needs (weights, methods): bad input, not a wrong answer.
    ``SetupError(N_("… {name} …"), name=…)``: the parent translates the template."""

    def __init__(self, template: str, **fields):
        super().__init__(template.format(**fields))
        self.reply = said(template, **fields)


# --------------------------------------------------------------------------- the cases
def _is_grad_name(name: str) -> bool:
    low = name.lower()
    return low.startswith(("grad", "dl", "d_")) or bool(re.fullmatch(r"d[a-z]{0,5}", low))


def _arrays(obj) -> dict:
    return {k: v for k, v in vars(obj).items() if isinstance(v, np.ndarray)}


def _find_weight(obj, shape, given):
    if given:
        if not isinstance(getattr(obj, given, None), np.ndarray):
            raise SetupError(
                N_("--weight-attr {given}: the object has no ndarray attribute {given}"),
                given=given,
            )
        return given
    found = [k for k, v in _arrays(obj).items() if v.shape == shape and not _is_grad_name(k)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise SetupError(
            N_(
                "found no weights: looked for an ndarray attribute of shape {shape} (F, C, k, k) "
                "after the first forward; name it with --weight-attr"
            ),
            shape=str(shape),
        )
    raise SetupError(
        N_("several attributes look like the weights ({names}): name one with --weight-attr"),
        names=", ".join(found),
    )


def _find_bias(obj, filters, weight_name, given):
    if given:
        if not isinstance(getattr(obj, given, None), np.ndarray):
            raise SetupError(
                N_("--bias-attr {given}: the object has no ndarray attribute {given}"), given=given
            )
        return given
    found = [
        k
        for k, v in _arrays(obj).items()
        if v.size == filters and k != weight_name and not _is_grad_name(k)
    ]
    if len(found) > 1:
        raise SetupError(
            N_("several attributes look like the bias ({names}): name one with --bias-attr"),
            names=", ".join(found),
        )
    return found[0] if found else None


class ReturnedNone(ValueError):
    """The student's function returned None (the untouched template does)."""


def _as_array(value, what: str) -> np.ndarray:
    if value is None:
        raise ReturnedNone(what)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is {type(value).__name__}, not an array of numbers") from None
    if array.size > MAX_ELEMENTS:
        raise ValueError(f"{what} has {array.size} elements, more than {MAX_ELEMENTS}")
    return array


def run_course_case(cls, h: dict, a: dict) -> tuple[dict, dict]:
    """Conv(filters, kernel_size, stride, padding): forward(X) -> O, backward(dO) -> (dF, dX)."""
    x, w, b = a["x"], a["w"], a["b"]
    filters, kernel = w.shape[0], w.shape[2]
    obj = cls(filters, kernel, h["stride"], h["padding"])
    obj.forward(x.copy())  # lets the object create its weights
    weight_name = _find_weight(obj, w.shape, h.get("weight_attr"))
    bias_name = _find_bias(obj, filters, weight_name, h.get("bias_attr"))
    setattr(obj, weight_name, w.copy())
    if bias_name:
        setattr(obj, bias_name, b.reshape(getattr(obj, bias_name).shape).copy())
    out = _as_array(obj.forward(x.copy()), "forward's return value")
    result = {"out": out}
    after = getattr(obj, weight_name, None)
    if not (isinstance(after, np.ndarray) and after.shape == w.shape and np.array_equal(after, w)):
        result["weights_after"] = _as_array(after, "the weights after forward")
    dout = a["dout"]
    expected = tuple(dout.shape)
    n, f, ho, wo = expected
    given = dout
    if out.shape != expected and out.shape == (n, ho, wo, f):
        given = dout.transpose(0, 2, 3, 1).copy()  # the layout the student's forward returned
    elif out.shape != expected:
        given = np.random.default_rng(h["seed"] + 1).standard_normal(out.shape)
    returned = obj.backward(given)
    if not isinstance(returned, (tuple, list)) or len(returned) not in (2, 3):
        raise ValueError(
            "backward must return (dLdF, dLdX) or (dLdF, dLdX, dLdb), got "
            f"{type(returned).__name__}"
        )
    result["dF"] = _as_array(returned[0], "backward's first return value")
    result["dX"] = _as_array(returned[1], "backward's second return value")
    if len(returned) == 3:
        result["db"] = _as_array(returned[2], "backward's third return value")
    else:
        grads = [
            k
            for k, v in _arrays(obj).items()
            if v.size == filters and _is_grad_name(k) and "b" in k.lower()[1:]
        ]
        if len(grads) == 1:
            result["db"] = _as_array(getattr(obj, grads[0]), grads[0])
    names = {"weight": weight_name, "bias": bias_name, "given_dout": list(given.shape)}
    return names, result


def run_cs231n_case(functions, h: dict, a: dict) -> tuple[dict, dict]:
    """conv_forward_naive(x, w, b, conv_param) -> (out, cache);
    conv_backward_naive(dout, cache) -> (dx, dw, db); likewise max pooling, affine, ReLU."""
    kind = h.get("kind", "conv")
    if kind != "conv":
        return {"pool": run_pool_case, "affine": run_affine_case, "relu": run_relu_case}[kind](
            functions[kind], h, a
        )
    forward, backward = functions["conv"]
    param = {"stride": h["stride"], "pad": h["padding"]}
    out, cache = _pair(forward(a["x"].copy(), a["w"].copy(), a["b"].copy(), param), "forward")
    result = {"out": _as_array(out, "out")}
    grads = backward(a["dout"].copy(), cache)
    if grads is None:
        raise ReturnedNone("the backward function")
    if not isinstance(grads, (tuple, list)) or len(grads) != 3:
        raise ValueError("the backward function must return (dx, dw, db)")
    result["dX"] = _as_array(grads[0], "dx")
    result["dF"] = _as_array(grads[1], "dw")
    result["db"] = _as_array(grads[2], "db")
    return {}, result


def _pair(returned, which: str):
    if returned is None:
        raise ReturnedNone(f"the {which} function")
    if not isinstance(returned, (tuple, list)) or len(returned) != 2:
        raise ValueError(f"the {which} function must return (out, cache)")
    return returned


def run_pool_case(functions, h: dict, a: dict) -> tuple[dict, dict]:
    forward, backward = functions
    kh, kw = h["kernel"] if isinstance(h["kernel"], list) else (h["kernel"], h["kernel"])
    param = {"pool_height": kh, "pool_width": kw, "stride": h["stride"]}
    out, cache = _pair(forward(a["x"].copy(), param), "max-pool forward")
    result = {"out": _as_array(out, "out")}
    result["dX"] = _as_array(backward(a["dout"].copy(), cache), "dx")
    return {}, result


def run_affine_case(functions, h: dict, a: dict) -> tuple[dict, dict]:
    """affine_forward(x, w, b) -> (out, cache); affine_backward(dout, cache) -> (dx, dw, db)."""
    forward, backward = functions
    out, cache = _pair(forward(a["x"].copy(), a["w"].copy(), a["b"].copy()), "affine forward")
    result = {"out": _as_array(out, "out")}
    grads = backward(a["dout"].copy(), cache)
    if grads is None:
        raise ReturnedNone("the affine backward function")
    if not isinstance(grads, (tuple, list)) or len(grads) != 3:
        raise ValueError("the affine backward function must return (dx, dw, db)")
    result["dX"] = _as_array(grads[0], "dx")
    result["dF"] = _as_array(grads[1], "dw")
    result["db"] = _as_array(grads[2], "db")
    return {}, result


def run_relu_case(functions, h: dict, a: dict) -> tuple[dict, dict]:
    """relu_forward(x) -> (out, cache); relu_backward(dout, cache) -> dx."""
    forward, backward = functions
    out, cache = _pair(forward(a["x"].copy()), "ReLU forward")
    result = {"out": _as_array(out, "out")}
    result["dX"] = _as_array(backward(a["dout"].copy(), cache), "dx")
    return {}, result


def load(setup: dict):
    """Run the student's file (runpy: no .pyc written) and return what the cases call."""
    import inspect
    import runpy

    # the student's folder, not ours, is where its own imports look first
    sys.path[0] = os.path.dirname(setup["path"])
    namespace = runpy.run_path(setup["path"], run_name="student_submission")
    if setup["api"] == "cs231n":
        for name in setup["functions"]:
            if not callable(namespace.get(name)):
                raise SetupError(N_("has no function {name}"), name=name)
        found = {"conv": [namespace[name] for name in setup["functions"]]}
        for kind, names in (setup.get("more_functions") or {}).items():
            pair = [namespace.get(name) for name in names]
            found[kind] = pair if all(map(callable, pair)) else None
        return found
    cls = namespace.get(setup["class"])
    if not isinstance(cls, type):
        classes = sorted(k for k, v in namespace.items() if isinstance(v, type) and not k[0] == "_")
        if classes:
            raise SetupError(
                N_("has no class {name} (it defines: {classes}); name it with --class"),
                name=setup["class"],
                classes=", ".join(classes),
            )
        raise SetupError(
            N_("has no class {name} (it defines no class); name it with --class"),
            name=setup["class"],
        )
    for method in ("forward", "backward"):
        if not callable(getattr(cls, method, None)):
            raise SetupError(
                N_("class {name} has no method {method}"), name=setup["class"], method=method
            )
    try:
        inspect.signature(cls).bind(2, 3, 1, "valid")
    except TypeError:
        raise SetupError(
            N_("class {name}{signature} cannot be called as {name}(filters, kernel_size, stride, "
               "padding)"),
            name=setup["class"],
            signature=str(inspect.signature(cls)),
        ) from None  # fmt: skip
    except ValueError:
        pass  # no signature to inspect (a C type): let the first case tell
    return cls


def main(cmd_fd: int, result_fd: int) -> None:
    frame = read_frame(cmd_fd)
    if frame is None:
        return
    setup, _ = frame
    apply_limits(setup["memory"], setup["cpu_seconds"])
    writer = BoundedWriter()
    sys.stdout = sys.stderr = writer
    sys.stdin = None
    try:
        target = load(setup)
    except SetupError as error:
        write_frame(result_fd, {"status": "setup", **error.reply})
        return
    except BaseException as error:  # noqa: BLE001 - anything the student's file does
        write_frame(result_fd, {"status": "load", **describe_exception(error, setup["path"])})
        return
    present = sorted(k for k, v in target.items() if v) if isinstance(target, dict) else []
    write_frame(result_fd, {"status": "loaded", "present": present})
    run = run_cs231n_case if setup["api"] == "cs231n" else run_course_case
    while (frame := read_frame(cmd_fd)) is not None:
        header, arrays = frame
        printed = writer.total
        try:
            names, result = run(target, {**setup, **header}, arrays)
            reply = {"status": "ok", **names}
        except SetupError as error:
            reply, result = {"status": "setup", **error.reply}, {}
        except ReturnedNone as error:
            reply = {"status": "error", "returned_none": True,
                     **said(N_("returned None ({what} is None)"), what=str(error))}  # fmt: skip
            result = {}
        except BaseException as error:  # noqa: BLE001
            reply, result = (
                {"status": "error", **describe_exception(error, setup["path"])},
                {},
            )
        reply["printed"] = writer.total - printed
        write_frame(result_fd, reply, result)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
