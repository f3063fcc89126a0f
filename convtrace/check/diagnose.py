"""Name a student's mistake from evidence: which cases fail and which pass, and what came back.

``grade.diagnose`` matches one case's wrong tensor against the planted bugs' variants. This
module looks at the whole file, one kind of case (conv, pool, affine, ReLU) at a time:

- the split of failing and passing cases: only pad = 0, only pad ≠ 1, only H ≠ W (or
  HH ≠ WW), only overlapping pooling windows, only x with more than two dimensions; for
  batch normalisation, the output or running statistics a known mistake computes
  (``batchnorm.findings``);
- the structure of what came back: None, all zeros, an exception's kind and message (a name
  NumPy removed, Python 2's xrange or float sizes), dW equal to the last window's term alone;
- the variants' own verdicts, with kernel-flipped renamed dx-kernel-flipped when the forward
  pass is right.

A finding is only made when the evidence fits exactly (every case of the split fails, every
other passes); otherwise the case stays "no known pattern". Never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..i18n import Msg
from . import batchnorm
from .catalog import BUGS
from .grade import LABELS, CaseResult, FileResult, within


@dataclass
class Finding:
    """One named mistake: ``id`` from the catalog, the tensor it shows in, the evidence (a
    sentence), the cases it explains; ``note``: outside the contract, not counted."""

    id: str
    tensor: str
    evidence: str
    cases: set[str] = field(default_factory=set)
    note: bool = False
    kind: str = ""  # the section: conv, pool, affine, relu, bn, sbn ("" for the whole file)


REMOVED_NUMPY = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "object": "object",
    "complex": "complex",
    "str": "str",
    "long": "int",
    "product": "np.prod",
    "cumproduct": "np.cumprod",
    "alltrue": "np.all",
    "sometrue": "np.any",
    "asscalar": "a.item()",
    "float_": "np.float64",
    "NaN": "np.nan",
    "Inf": "np.inf",
}


# --------------------------------------------------------------------------- exceptions
#: a size computed with / (Python 2's integer division) and no // anywhere in the file
TRUE_DIVISION = re.compile(r"\)\s*/\s*\(?\s*(stride|str|S|s)\b|/\s*stride\b")


def _python2_division(source: str) -> bool:
    return bool(TRUE_DIVISION.search(source)) and "//" not in source


def _error_id(kind: str, message: str, source: str = "") -> tuple[str, str] | None:
    """(catalog id, the evidence) for an exception the catalog knows, else None."""
    numpy_name = re.search(r"module 'numpy' has no attribute '(\w+)'", message)
    if numpy_name:
        name = numpy_name.group(1)
        use = REMOVED_NUMPY.get(name, "")
        if use:
            return "numpy-removed-name", Msg("np.{name} no longer exists: use {use}", name=name,
                                             use=use)  # fmt: skip
        return "numpy-removed-name", Msg("np.{name} no longer exists", name=name)
    if "newshape" in message:
        return "numpy-removed-name", Msg("reshape(newshape=...) no longer exists: reshape(shape)")
    if "nosetester" in message:
        return "numpy-removed-name", Msg(
            "numpy.testing's nosetester no longer exists: drop the import"
        )
    if "only 0-dimensional arrays can be converted" in message or (
        "only length-1 arrays" in message
    ):
        return "numpy-removed-name", Msg(
            "int() or float() of a one-element array is an error since NumPy 2: use a[0] or "
            "a.item()"
        )
    if "xrange" in message:
        return "python2-code", Msg("xrange is Python 2: use range")
    if re.search(r"name '(reduce|unicode|long|raw_input)' is not defined", message):
        return "python2-code", Msg(
            "{name} is a Python 2 builtin: import it (functools.reduce) or use the Python 3 name",
            name=re.search(r"name '(\w+)'", message).group(1),
        )
    if kind == "SyntaxError" and (
        "Missing parentheses in call to 'print'" in message
        or re.search(r"^\s*print\s+[^(\s=]", source, re.M)
    ):
        return "python2-code", Msg("the print statement is Python 2: use print(...)")
    if kind == "TypeError" and re.search(
        r"'float' object cannot be interpreted as an integer|slice indices must be integers"
        r"|float.* as an index|'float' object",
        message,
    ):
        return "python2-code", Msg("a size computed with / is a float in Python 3: use //")
    if "from dtype('float64') to dtype('int64')" in message and _python2_division(source):
        return "python2-code", Msg("a size computed with / is a float in Python 3: use //")
    if kind == "NotImplementedError":
        return "not-implemented", Msg("it raises NotImplementedError")
    return None


def load_findings(reply: dict, source: str) -> list[Finding]:
    """Findings for a file that does not even load (Python 2, a removed NumPy name)."""
    fields = reply.get("fields") if isinstance(reply.get("fields"), dict) else {}
    named = _error_id(str(fields.get("kind", "")), str(reply.get("message", "")), source)
    if named is None:
        return []
    return [Finding(named[0], "file", Msg("the file does not load: {why}", why=named[1]))]


# --------------------------------------------------------------------------- evidence
def _pad(r: CaseResult) -> int:
    return r.case.pads[0][0] if r.case.api == "cs231n" else -1


def _split(rs, failing, predicate) -> bool:
    """Every case with the property fails and every other one passes (both sides exist)."""
    inside = {r.case.name for r in rs if predicate(r)}
    return bool(inside) and inside != {r.case.name for r in rs} and failing == inside


def _wrong(r: CaseResult) -> list[str]:
    return [k for k, v in r.checks.items() if v is False]


def _tensors(rs: list[CaseResult]) -> str:
    """The wrong tensors ("dX, dF"), and what stopped the cases that returned nothing (the
    exception's kind: "IndexError", "returned None", "timeout")."""
    found = []
    for r in rs:
        if r.status == "ok":
            names = [LABELS[k] for k in _wrong(r)]
        elif r.returned_none:
            names = ["None"]
        else:
            names = [str(r.fields.get("kind") or r.status)]
        found += [name for name in names if name not in found]
    return ", ".join(found)


def _last_window_terms(r: CaseResult) -> dict[str, list[np.ndarray]]:
    """dW and db as an = that keeps only the last window (summed over the batch or the last
    sample only): the ways ``dW[f] = ...`` in a loop over windows comes out."""
    case = r.case
    if np.ndim(case.w) != 4 or case.dout.ndim != 4:
        return {}
    (pt, pb), (pl, pr) = case.pads
    xp = np.pad(case.x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    kh, kw = case.w.shape[2:]
    ho, wo = case.dout.shape[2:]
    s = case.spec.stride
    window = xp[:, :, (ho - 1) * s : (ho - 1) * s + kh, (wo - 1) * s : (wo - 1) * s + kw]
    g = case.dout[:, :, ho - 1, wo - 1]  # (N, F)
    per_sample = np.einsum("nf,nchw->nfchw", g, window)
    return {
        "dF": [per_sample.sum(axis=0), per_sample[-1]],
        "db": [g.sum(axis=0), g[-1]],
    }


def _dw_overwrite(r: CaseResult) -> bool:
    wrong = _wrong(r)
    if r.status != "ok" or not wrong or any(k not in ("dF", "db") for k in wrong):
        return False
    candidates = _last_window_terms(r)
    return all(any(within(r.got[k], c) for c in candidates.get(k, [])) for k in wrong)


def _all_zeros(rs: list[CaseResult]) -> str | None:
    """The tensor left as zeros in every failing case (torch's is not)."""
    for k in ("dX", "dF", "db", "out"):
        if all(
            r.status == "ok"
            and r.checks.get(k) is False
            and np.shape(r.got.get(k)) == np.shape(r.expected[k])
            and not np.any(r.got[k])
            for r in rs
        ):
            return k
    return None


def _kind_findings(kind: str, rs: list[CaseResult], source: str = "") -> list[Finding]:
    failing_rs = [r for r in rs if not r.passed]
    failing = {r.case.name for r in failing_rs}
    if not failing:
        return []
    found: list[Finding] = []
    tensors = _tensors(failing_rs)

    def add(bug_id: str, evidence: str, cases=None) -> None:
        found.append(Finding(bug_id, tensors, evidence, set(cases or failing)))

    errors = [r for r in failing_rs if r.status == "error"]
    if any(r.returned_none for r in failing_rs):
        first = next(r for r in failing_rs if r.returned_none)
        add("not-implemented", Msg("{what} is None", what=_what(first)))
        return found
    for r in errors:
        named = _error_id(str(r.fields.get("kind", "")), str(r.fields.get("message", "")), source)
        if named:
            add(named[0], named[1], {e.case.name for e in errors})
            return found
    if (
        errors
        and len(errors) == len(rs)
        and all(
            r.fields.get("kind") == "AssertionError"
            and re.fullmatch(r"|.*(todo|implement).*", str(r.fields.get("message", "")), re.I)
            for r in errors
        )
    ):
        add("not-implemented", Msg("every case stops at an assert False"))
        return found
    zeros = _all_zeros(failing_rs)
    if zeros and len(failing_rs) == len(rs):
        add("not-implemented", Msg("{tensor} is all zeros in every case", tensor=LABELS[zeros]))
        return found
    if kind == "conv":
        if rs[0].case.api == "cs231n" and _split(rs, failing, lambda r: _pad(r) == 0):
            unbound = any(
                r.fields.get("kind") in ("UnboundLocalError", "NameError") for r in errors
            )
            add(
                "padding-zero-branch" if unbound else "unpad-negative-slice",
                Msg("every case with pad = 0 fails, every padded one passes"),
            )
            return found
        if rs[0].case.api == "cs231n" and _split(rs, failing, lambda r: _pad(r) != 1):
            add("padding-hardcoded", Msg("every case with pad = 1 passes, every other pad fails"))
            return found
        if all(_dw_overwrite(r) for r in failing_rs):
            add("dw-overwrite", Msg("{tensor} equals the last window's term alone in every "
                                    "failing case", tensor=tensors))  # fmt: skip
            return found
    square = {r.case.name for r in rs if r.case.spec.square}
    if square and failing.isdisjoint(square) and len(square) < len(rs):
        add("height-width-swapped", Msg("every case with H ≠ W or a non-square window fails, "
                                        "every square one passes"))  # fmt: skip
        return found
    overlapping = _split(rs, failing, lambda r: r.case.spec.stride < max(r.case.spec.khw))
    if kind == "pool" and overlapping and not errors:  # wrong numbers, not a crash
        add("maxpool-overwrite", Msg("every case with overlapping windows fails, every other "
                                     "passes"))  # fmt: skip
        return found
    if kind in batchnorm.KINDS:
        for bug_id, evidence, cases in batchnorm.findings(kind, rs, failing, within):
            add(bug_id, evidence, cases)
        return found
    if kind == "affine" and _split(rs, failing, lambda r: len(r.case.spec.shape) > 2):
        add("affine-not-flattened", Msg("every case with x of more than two dimensions fails, "
                                        "the two-dimensional one passes"))  # fmt: skip
        return found
    return found


def _what(r: CaseResult) -> str:
    return str(r.fields.get("what", "")) or LABELS.get(r.case.spec.kind, r.case.spec.kind)


def _variant_findings(rs: list[CaseResult], taken: set[str]) -> list[Finding]:
    """The planted bugs' variants, case by case (``grade.diagnose``); kernel-flipped with a
    right forward pass is dx-kernel-flipped."""
    found: dict[str, Finding] = {}
    for r in rs:
        if r.passed or r.case.name in taken:
            continue
        for bug_id in r.diagnosis:
            if bug_id == "kernel-flipped" and r.checks.get("out") is True:
                bug_id = "dx-kernel-flipped"
            finding = found.get(bug_id)
            if finding is None:
                evidence = Msg(
                    "{tensor} equals what this mistake computes, case by case",
                    tensor=_tensors([r]),
                )
                finding = found[bug_id] = Finding(bug_id, _tensors([r]), evidence)
            finding.cases.add(r.case.name)
    return list(found.values())


def diagnose_file(result: FileResult) -> None:
    """Fill ``result.findings`` (mistakes, then notes) from every case of the file."""
    kinds: dict[str, list[CaseResult]] = {}
    for r in result.cases:
        kinds.setdefault(r.case.spec.kind, []).append(r)
    findings: list[Finding] = []
    for kind, rs in kinds.items():
        counted = [r for r in rs if r.counted]
        evidence = _kind_findings(kind, counted, result.source)
        taken = {name for f in evidence for name in f.cases}
        for finding in evidence + _variant_findings(counted, taken):
            finding.kind = kind
            findings.append(finding)
        failing_kinds = {r.fields.get("kind") for r in counted if r.status == "error"}
        refused = [
            r
            for r in rs
            if not r.counted and r.status == "error" and r.fields.get("kind") not in failing_kinds
        ]
        if refused:
            findings.append(
                Finding(
                    "stride-must-divide",
                    "",
                    Msg(
                        "refuses the cases where the stride does not divide (outside the "
                        "contract): not counted"
                    ),  # fmt: skip
                    {r.case.name for r in refused},
                    note=True,
                )
            )
    by_case: dict[str, list[str]] = {}
    for f in findings:
        for name in f.cases:
            by_case.setdefault(name, []).append(f.id)
    for r in result.cases:  # the case table's note says the file-level ids too
        ids = by_case.get(r.case.name, [])
        if r.checks.get("out") is True and "kernel-flipped" in r.diagnosis:
            r.diagnosis = ["dx-kernel-flipped" if i == "kernel-flipped" else i for i in r.diagnosis]
        r.diagnosis = list(dict.fromkeys(r.diagnosis + ids))
        if any(not BUGS[i].variants for i in ids):
            r.unexplained = []  # named from the evidence of the whole file
    result.findings = findings
