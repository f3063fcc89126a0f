"""Grade one student file against torch, case by case, and name the bug from the catalog.

For every case the child (``sandbox``) returns the student's O, dF, dX (and db when the object
exposes one); each is compared with torch's value: same shape and
``|got − torch| ≤ RTOL · max(1, max|torch|)``. A wrong tensor is matched against every
catalog variant computed on the same case (``catalog.conv_forward``/``conv_backward``, in this
process, numpy only): a variant that differs from torch there and equals the student's numbers
names its bug. Nothing else is guessed: a wrong tensor no variant reproduces is "no known
pattern", shown with its first wrong cell.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..i18n import Msg
from .cases import RTOL, Case
from .catalog import CATALOG, Variant, conv_backward, conv_forward, variant_pads

COMPONENTS = ("out", "dF", "dX", "db")
RUNNING = ("running_mean", "running_var")  # batch normalisation's bn_param after train mode
LABELS = {"out": "forward", "dF": "dF", "dX": "dX", "db": "db", "running_mean": "running_mean",
          "running_var": "running_var"}  # fmt: skip
STAGES = {"out": "conv.out", "dF": "grad.conv.weight", "dX": "grad.input", "db": "grad.conv.bias"}


def within(got, expected) -> bool:
    """Same shape and max |got − expected| ≤ RTOL · max(1, max |expected|)."""
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape:
        return False
    if not expected.size:
        return True
    if not np.all(np.isfinite(got)):
        return False
    scale = max(1.0, float(np.max(np.abs(expected))))
    return float(np.max(np.abs(got - expected))) <= RTOL * scale


@dataclass
class CaseResult:
    """The verdict of one case. checks: component -> True/False, or None (db not exposed)."""

    case: Case
    expected: dict[str, np.ndarray]
    status: str = "ok"  # ok | error | setup | timeout | crash
    message: str | None = None
    got: dict[str, np.ndarray] = field(default_factory=dict)
    checks: dict[str, bool | None] = field(default_factory=dict)
    diagnosis: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    printed: int = 0
    bias: np.ndarray | None = None  # the bias the student's layer used (zeros: it has none)
    fields: dict = field(default_factory=dict)  # the child's error: kind, message, line
    returned_none: bool = False

    @property
    def counted(self) -> bool:
        """Inside the API's contract: counts towards pass/fail and the score."""
        return self.case.in_contract

    @property
    def shape_ok(self) -> bool:
        return self.status == "ok" and all(
            np.shape(self.got[k]) == np.shape(self.expected[k])
            for k in ("out", "dF", "dX")
            if k in self.got
        )

    @property
    def passed(self) -> bool:
        return self.status == "ok" and all(v is not False for v in self.checks.values())

    def first_wrong(self) -> str | None:
        return next((k for k in COMPONENTS + RUNNING if self.checks.get(k) is False), None)

    def first_wrong_cell(self, component: str) -> tuple[int, ...] | None:
        """Row-major first index where got and torch differ beyond the tolerance."""
        got, exp = self.got.get(component), self.expected[component]
        if got is None or np.shape(got) != np.shape(exp):
            return None
        scale = max(1.0, float(np.max(np.abs(exp)))) if exp.size else 1.0
        bad = np.argwhere(~(np.abs(got - exp) <= RTOL * scale))
        return tuple(int(i) for i in bad[0]) if len(bad) else None


@dataclass
class FileResult:
    """Every case of one file; ``error`` when the file could not be graded at all (exit 2)."""

    path: str
    cases: list[CaseResult] = field(default_factory=list)
    error: str | None = None

    load_failure: str | None = None  # the file does not run, for a reason the catalog names
    findings: list = field(default_factory=list)  # diagnose.Finding, file-level
    smallest: CaseResult | None = None  # the shrunk failing case (shrink.py)
    source: str = ""
    remark: str | None = None  # how the file was read (a notebook's cells, lines dropped)

    @property
    def diagnosis(self) -> list[str]:
        ids = [f.id for f in self.findings if not f.note]
        return list(dict.fromkeys(ids))

    @property
    def notes(self) -> list[str]:
        return list(dict.fromkeys(f.id for f in self.findings if f.note))

    @property
    def unexplained(self) -> bool:
        explained = {name for f in self.findings if not f.note for name in f.cases}
        return any(
            (r.unexplained or r.status != "ok") and r.case.name not in explained
            for r in self.counted
            if not r.passed
        ) or bool(self.load_failure and not self.findings)

    @property
    def counted(self) -> list[CaseResult]:
        return [r for r in self.cases if r.counted]

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.counted if not r.passed]

    @property
    def score(self) -> float:
        """Percent of the cases inside the API's contract that pass (every tensor right)."""
        if self.load_failure or not self.counted:
            return 0.0
        return round(100.0 * (len(self.counted) - len(self.failed)) / len(self.counted), 1)

    @property
    def passed(self) -> bool:
        return self.error is None and not self.load_failure and not self.failed

    def first_failure(self) -> CaseResult | None:
        return next(iter(self.failed), None)


# --------------------------------------------------------------------------- diagnosis
def variant_outputs(case: Case, variant: Variant, weights=None, bias=None) -> dict[str, np.ndarray]:
    """What a layer with ``variant``'s bug returns on ``case`` (the student's API slots);
    ``weights``/``bias`` replace the case's (a class without a bias adds none)."""
    w = case.w if weights is None else weights
    b = case.b if bias is None else bias
    s = case.spec
    pads = variant_pads(variant, case.padding, case.x.shape[2:], w.shape[2:], case.stride)
    out = conv_forward(case.x, w, b, case.stride, pads, variant)
    out_nchw = out.transpose(0, 3, 1, 2) if variant.channels_last else out
    dout = case.dout
    if out_nchw.shape != dout.shape:  # the worker's rule: a fresh dL/dO of the student's shape
        dout = np.random.default_rng(s.seed + 1).standard_normal(out_nchw.shape)
    dw, db, dx = conv_backward(case.x, w, dout, case.stride, pads, variant)
    if variant.swapped:
        dw, dx = dx, dw
    return {"out": out, "dF": dw, "dX": dx, "db": db}


def diagnose(result: CaseResult) -> None:
    """Fill ``result.diagnosis`` (bug ids whose variant reproduces a wrong tensor) and
    ``result.unexplained`` (wrong tensors no variant reproduces)."""
    case, got, wrong = result.case, result.got, [k for k, v in result.checks.items() if v is False]
    explained: set[str] = set()
    for bug in CATALOG:
        for variant in bug.variants:
            weights = got.get("weights_after")
            if variant.reinitialise:
                if weights is None or np.shape(weights) != case.w.shape or within(weights, case.w):
                    continue  # the weights we set are still there (maybe rounded)
                outputs = variant_outputs(case, Variant("correct"), weights, result.bias)
            else:
                outputs = variant_outputs(case, variant, bias=result.bias)
            hits = [
                k
                for k in wrong
                if k in got
                and within(got[k], outputs[k])
                and not within(outputs[k], result.expected[k])
            ]
            if hits:
                explained.update(hits)
                if bug.id not in result.diagnosis:
                    result.diagnosis.append(bug.id)
    result.unexplained = [k for k in wrong if k not in explained]


def grade_case(case: Case, expected: dict, reply: dict, arrays: dict) -> CaseResult:
    """Compare the child's answer for one case with torch's, then diagnose what is wrong."""
    result = CaseResult(case, expected, printed=int(reply.get("printed", 0)))
    if reply.get("status") != "ok":
        result.status, result.message = reply.get("status", "crash"), reply_message(reply)
        result.fields = reply.get("fields") if isinstance(reply.get("fields"), dict) else {}
        result.returned_none = reply.get("returned_none") is True
        result.checks = {k: (False if k in expected and k != "db" else None) for k in COMPONENTS}
        return result
    result.got = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
    if case.spec.kind == "conv" and case.api == "course" and reply.get("bias") is None:
        # a class without a bias attribute adds none: torch's O without b (the gradients
        # do not depend on b; dL/db is still graded when the class returns one)
        result.bias = np.zeros_like(case.b)
        expected = {**expected, "out": expected["out"] - case.b.reshape(1, -1, 1, 1)}
        result.expected = expected
    for k in COMPONENTS + tuple(k for k in RUNNING if k in expected):
        result.checks[k] = within(result.got[k], expected[k]) if k in result.got else None
    if not result.passed and case.spec.kind == "conv" and np.ndim(case.w) == 4:
        diagnose(result)
    elif not result.passed:
        result.unexplained = [k for k, v in result.checks.items() if v is False]
    return result


# --------------------------------------------------------------------------- a whole file
@dataclass
class CheckOptions:
    api: str = "course"  # course | cs231n
    class_name: str = "Conv2D"
    functions: tuple[str, str] = ("conv_forward_naive", "conv_backward_naive")
    more_functions: dict = field(
        default_factory=lambda: {
            "pool": ("max_pool_forward_naive", "max_pool_backward_naive"),
            "affine": ("affine_forward", "affine_backward"),
            "relu": ("relu_forward", "relu_backward"),
            "bn": ("batchnorm_forward", "batchnorm_backward"),
            "sbn": ("spatial_batchnorm_forward", "spatial_batchnorm_backward"),
        }
    )
    weight_attr: str | None = None
    bias_attr: str | None = None
    timeout: float = 10.0
    memory: int = 2 << 30
    shrink: bool = True
    allow_torch: bool = False  # --allow torch: the child may import the reference
    isolation: object = None  # an isolation.Isolation; None: the best this machine gives


def grade_file(
    path, cases, references, options: CheckOptions, on_case=None, started=None
) -> FileResult:
    """``_grade_python`` on a ``.py``; a ``.ipynb`` is first turned into one (its code cells in
    order, IPython lines dropped: ``notebook_source``), graded the same way. ``started``:
    ``start_sandbox``'s answer for this ``.py``, when its child was started beforehand."""
    if not str(path).endswith(".ipynb"):
        return _grade_python(path, cases, references, options, on_case, started)
    import tempfile

    from .notebook_source import note, notebook_to_python

    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            source, cells, dropped = notebook_to_python(handle.read(20_000_000))
    except (OSError, ValueError) as error:
        return FileResult(str(path), error=str(error))
    with tempfile.TemporaryDirectory(prefix="convtrace-notebook-") as folder:
        python = os.path.join(folder, os.path.basename(str(path))[: -len(".ipynb")] + ".py")
        with open(python, "w", encoding="utf-8") as handle:
            handle.write(source)
        result = _grade_python(python, cases, references, options, on_case)
    result.path, result.remark = str(path), note(cells, dropped)
    return result


def start_sandbox(path, options: CheckOptions, count: int) -> tuple:
    """The sandbox for the student's ``.py`` at ``path``, for a battery of ``count`` cases,
    started (the file loaded in its child): ``(sandbox, its answer)``, for ``grade_file``."""
    from .sandbox import Sandbox

    setup = {
        "path": os.path.abspath(path),
        "api": options.api,
        "class": options.class_name,
        "functions": list(options.functions),
        "more_functions": {k: list(v) for k, v in options.more_functions.items()},
        "weight_attr": options.weight_attr,
        "bias_attr": options.bias_attr,
    }
    box = Sandbox(setup, options.timeout, options.memory, count, options.isolation,
                  options.allow_torch)  # fmt: skip
    try:
        return box, box.start()
    except BaseException:
        box.close()
        raise


def _grade_python(
    path, cases, references, options: CheckOptions, on_case=None, started=None
) -> FileResult:
    """Run every case of ``cases`` on the student's file in a sandbox and grade it.

    references: torch's values per case (``cases.torch_reference``); on_case(result) is called
    after each case (progress). One child serves all cases; a fresh one after a kill or crash.
    """
    from .diagnose import diagnose_file, load_findings

    result = FileResult(str(path))
    try:
        result.source = open(path, encoding="utf-8", errors="replace").read(1_000_000)
    except OSError:
        result.source = ""
    box, loaded = started or start_sandbox(path, options, len(cases))
    with box:
        if loaded["status"] != "loaded":
            findings = load_findings(loaded, result.source)
            if findings:  # the file fails for a reason the catalog names: graded, not refused
                result.load_failure, result.findings = _load_error(loaded), findings
            else:
                result.error = _load_error(loaded)
            return result
        present = set(loaded.get("present") or ["conv"]) | {"conv"}
        graded = [i for i, c in enumerate(cases) if c.spec.kind in present]
        # a lazy sequence (cases.References, parallel's) gives torch's values only for what is
        # graded, each when its case is
        for number, index in enumerate(graded):
            reply, arrays = run_in(box, cases[index])
            if reply["status"] == "setup" and number == 0:
                result.error = reply_message(reply)
                return result
            case_result = grade_case(cases[index], references[index], reply, arrays)
            result.cases.append(case_result)
            if on_case:
                on_case(case_result)
        diagnose_file(result)
        if options.shrink and result.failed:
            from .shrink import shrink

            result.smallest = shrink(lambda case: run_in(box, case), result)
            if result.smallest is not None:  # it fails as the first failure does: same naming
                first = result.first_failure()
                result.smallest.diagnosis = list(first.diagnosis)
                result.smallest.unexplained = list(first.unexplained)
    return result


def run_in(box, case: Case) -> tuple[dict, dict]:
    """One case in the sandbox (a fresh child when the last one was killed)."""
    if box.proc is None:
        loaded = box.start()
        if loaded["status"] != "loaded":
            return {"status": "crash", "message": _load_error(loaded)}, {}
    header = {
        "stride": case.spec.stride,
        "padding": case.padding,
        "seed": case.spec.seed,
        "kind": case.spec.kind,
        "kernel": list(case.spec.khw),
    }
    arrays = {"x": case.x, "w": case.w, "b": case.b, "dout": case.dout}
    if case.running:
        header.update(eps=case.spec.eps, momentum=case.spec.momentum, mode=case.spec.mode)
        arrays.update(running_mean=case.running[0], running_var=case.running[1])
    return box.run(header, arrays)


def reply_message(reply: dict):
    """The child's (or the sandbox's) message: a Msg of this process's own catalog, its
    fields checked and escaped (``transport``), translated where it is shown."""
    return reply.get("message")


def _load_error(reply: dict):
    status, message = reply["status"], reply_message(reply) or ""
    if status in ("load", "timeout", "crash"):
        return Msg("{message} while loading", message=message)
    return message
