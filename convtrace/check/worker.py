"""The child process of ``convtrace check``: loads ONE student file and runs the cases sent to it.

Run as a script (``python -I -B worker.py CMD_FD RESULT_FD``); it imports numpy and the standard
library only (never convtrace, never torch). Before the student's file is loaded it sets its own
limits: address space (``RLIMIT_AS``), file size 0 (``RLIMIT_FSIZE``: the student's code cannot
write bytes to any file; SIGXFSZ is ignored so a write fails instead of killing us), no core
dumps, and a CPU-time backstop. The student's prints go to a writer that keeps the first
``PRINT_CAP`` bytes (on the stdout pipe the parent drains) and only counts the rest.

Messages both ways are frames: an 8-byte big-endian length, then an uncompressed ``.npz``
archive holding the arrays and a JSON header (key ``__header__``, as uint8). A message is an id
of the parent's catalog (``transport.MESSAGES``) and its fields, never text to format. The
student's code shares this process and can write on the result pipe too, so the parent checks
every reply (``transport``) as it would an adversary's.

The limits are hard (soft = hard: the student's code cannot raise them again) and Landlock
is applied where the parent asks (``confine``, beside this file), torch (the reference)
cannot be imported unless the teacher allowed it, and neither this file's folder
nor the submission's is on ``sys.path`` (a submission named ``traceback.py`` is not imported
in place of the standard library's).
"""

from __future__ import annotations

# imported before the student's file can shadow them (its folder is not on sys.path either)
import functools
import inspect  # noqa: F401
import io
import json
import linecache  # noqa: F401
import os
import re
import runpy  # noqa: F401
import sys
import traceback  # noqa: F401
import zipfile  # noqa: F401

import numpy as np

PRINT_CAP = 4096
MAX_ELEMENTS = 2_000_000  # bigger returned arrays are refused, not sent (transport's cap)
FIELD_CAP = 400  # characters of one message field (the parent caps them again)


# --------------------------------------------------------------------------- frames
def encode_frame(header: dict, arrays: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    payload = {k: np.asarray(v) for k, v in (arrays or {}).items()}
    payload["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(buffer, **payload)  # stored, not compressed: the parent refuses compression
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
FORBIDDEN = ("torch",)


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
def said(message_id: str, **fields) -> dict:
    """A reply's message: an id of the parent's catalog and its fields (capped here, checked
    and escaped again there)."""
    capped = {k: v if isinstance(v, int) else str(v)[:FIELD_CAP] for k, v in fields.items()}
    return {"id": message_id, "fields": capped}


def describe_exception(error: BaseException, path: str) -> dict:
    """'raised IndexError: message at line 42' (the last line of the student's file in the
    traceback), or 'called sys.exit(3)', as ``said`` gives it."""

    if isinstance(error, SystemExit):
        return said("exit", code=repr(error.code)[:FIELD_CAP])
    line = None
    real = os.path.realpath(path)
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.realpath(frame.filename) == real:
            line = frame.lineno
    if isinstance(error, ImportError) and (error.name or "").split(".")[0] in FORBIDDEN:
        return said("forbidden_import", module=error.name, line=line or "")
    if isinstance(error, ModuleNotFoundError) and error.name:
        return said("missing_module", module=error.name, line=line or "")
    try:
        text = str(error)
    except BaseException:  # noqa: BLE001 - a hostile __str__
        text = ""
    message = text.splitlines()[0] if text else ""
    if isinstance(error, SyntaxError) and isinstance(error.lineno, int):
        line, message = error.lineno, str(error.msg)
    message = message[:160] + ("…" if len(message) > 160 else "")
    kind = type(error).__name__
    if line and message:
        return said("raised_message_line", kind=kind, message=message, line=line)
    if message:
        return said("raised_message", kind=kind, message=message)
    if line:
        return said("raised_line", kind=kind, line=line)
    return said("raised", kind=kind)


class SetupError(Exception):
    """The grader cannot find what it needs (weights, methods): bad input, not a wrong answer.
    ``SetupError("no_weights", shape=…)``: an id of the parent's catalog and its fields."""

    def __init__(self, message_id: str, **fields):
        super().__init__(message_id)
        self.reply = said(message_id, **fields)


# --------------------------------------------------------------------------- the cases
def _is_grad_name(name: str) -> bool:
    low = name.lower()
    return low.startswith(("grad", "dl", "d_")) or bool(re.fullmatch(r"d[a-z]{0,5}", low))


def _arrays(obj) -> dict:
    return {k: v for k, v in vars(obj).items() if isinstance(v, np.ndarray)}


def _find_weight(obj, shape, given):
    if given:
        if not isinstance(getattr(obj, given, None), np.ndarray):
            raise SetupError("weight_attr_missing", given=given)
        return given
    found = [k for k, v in _arrays(obj).items() if v.shape == shape and not _is_grad_name(k)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise SetupError("no_weights", shape=str(shape))
    raise SetupError("several_weights", names=", ".join(found))


def _find_bias(obj, filters, weight_name, given):
    if given:
        if not isinstance(getattr(obj, given, None), np.ndarray):
            raise SetupError("bias_attr_missing", given=given)
        return given
    found = [
        k
        for k, v in _arrays(obj).items()
        if v.size == filters and k != weight_name and not _is_grad_name(k)
    ]
    if len(found) > 1:
        raise SetupError("several_bias", names=", ".join(found))
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
        runners = {"pool": run_pool_case, "affine": run_affine_case, "relu": run_relu_case,
                   "bn": run_bn_case, "sbn": run_bn_case}  # fmt: skip
        return runners[kind](functions[kind], h, a)
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


def run_bn_case(functions, h: dict, a: dict) -> tuple[dict, dict]:
    """(spatial_)batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache), bn_param's running
    statistics read back after a train-mode forward; batchnorm_backward(dout, cache) ->
    (dx, dgamma, dbeta) in train mode only (CS231n's backward is for a train-mode cache)."""
    forward, backward = functions
    param = {k: h[k] for k in ("mode", "eps", "momentum")}
    param.update(running_mean=a["running_mean"].copy(), running_var=a["running_var"].copy())
    returned = forward(a["x"].copy(), a["w"].copy(), a["b"].copy(), param)
    out, cache = _pair(returned, "batchnorm forward")
    result = {"out": _as_array(out, "out")}
    if h["mode"] != "train":
        return {}, result
    for key in ("running_mean", "running_var"):
        if param.get(key) is None:
            raise ValueError(f"bn_param has no {key} after forward")
        result[key] = _as_array(param[key], f"bn_param['{key}']")
    grads = backward(a["dout"].copy(), cache)
    if grads is None:
        raise ReturnedNone("the batchnorm backward function")
    if not isinstance(grads, (tuple, list)) or len(grads) != 3:
        raise ValueError("the batchnorm backward function must return (dx, dgamma, dbeta)")
    result["dX"] = _as_array(grads[0], "dx")
    result["dF"] = _as_array(grads[1], "dgamma")
    result["db"] = _as_array(grads[2], "dbeta")
    return {}, result


def load(setup: dict):
    """Run the student's file (runpy: no .pyc written) and return what the cases call."""

    # neither this file's folder nor the submission's: a student's traceback.py or numpy.py
    # must not stand in for the real one
    here = {os.path.dirname(os.path.abspath(__file__)), os.path.dirname(setup["path"]), ""}
    sys.path[:] = [p for p in sys.path if p not in here and os.path.abspath(p) not in here]
    if setup.get("starter"):  # the starter code's helpers (cs231n.im2col), read-only, last
        sys.path.append(setup["starter"])
    if not setup.get("allow_torch"):
        sys.meta_path.insert(0, _sibling("confine").ForbiddenImports(FORBIDDEN))
        for name in list(sys.modules):
            if name.split(".")[0] in FORBIDDEN:
                del sys.modules[name]
    namespace = runpy.run_path(setup["path"], run_name="student_submission")
    if setup["api"] == "cs231n":
        for name in setup["functions"]:
            if not callable(namespace.get(name)):
                raise SetupError("no_function", name=name)
        found = {"conv": [namespace[name] for name in setup["functions"]]}
        for kind, names in (setup.get("more_functions") or {}).items():
            pair = [namespace.get(name) for name in names]
            found[kind] = pair if all(map(callable, pair)) else None
        return found
    cls = namespace.get(setup["class"])
    if not isinstance(cls, type):
        classes = sorted(k for k, v in namespace.items() if isinstance(v, type) and not k[0] == "_")
        if classes:
            raise SetupError("no_class_defines", name=setup["class"], classes=", ".join(classes))
        raise SetupError("no_class", name=setup["class"])
    for method in ("forward", "backward"):
        if not callable(getattr(cls, method, None)):
            raise SetupError("no_method", name=setup["class"], method=method)
    try:
        inspect.signature(cls).bind(2, 3, 1, "valid")
    except TypeError:
        raise SetupError(
            "bad_signature", name=setup["class"], signature=str(inspect.signature(cls))
        ) from None
    except ValueError:
        pass  # no signature to inspect (a C type): let the first case tell
    return cls


@functools.cache
def _sibling(name: str):
    """A module beside this file (``python -I`` does not put this folder on sys.path)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_convtrace_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(cmd_fd: int, result_fd: int) -> None:
    frame = read_frame(cmd_fd)
    if frame is None:
        return
    setup, _ = frame
    confine = _sibling("confine")  # hard limits, then Landlock: before the student's code
    confine.apply_limits(setup["memory"], setup["cpu_seconds"], processes=setup.get("processes"))
    if setup.get("landlock"):
        confine.restrict(setup["landlock"])
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
                     **said("returned_none", what=str(error))}  # fmt: skip
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
