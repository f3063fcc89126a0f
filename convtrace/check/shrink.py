"""The smallest failing case: shrink a failing case's input while the student's code still
disagrees with torch on the same tensor.

Greedy, one dimension at a time (batch, channels, filters, then height and width, then the
kernel; affine and ReLU: every axis of x), each step kept only when the shrunk case stays
inside the API's contract and still fails the same way. At most ``ATTEMPTS`` runs of the
student's code, a few milliseconds each.
"""

from __future__ import annotations

import dataclasses

from .cases import CaseSpec, build_case, torch_reference
from .grade import CaseResult, FileResult, grade_case

ATTEMPTS = 40


def _signature(r: CaseResult) -> tuple:
    if r.status != "ok":
        return (r.status,)
    return tuple(k for k, v in r.checks.items() if v is False)


def _smaller(spec: CaseSpec):
    """Specs one step smaller than ``spec``, most useful first."""
    if spec.kind in ("affine", "relu", "bn", "sbn"):
        for axis, n in enumerate(spec.shape):
            if n > 1:
                shape = spec.shape[:axis] + (n - 1,) + spec.shape[axis + 1 :]
                yield dataclasses.replace(spec, shape=shape, batch=shape[0])
        return
    for name in ("batch", "channels", "filters"):
        if getattr(spec, name) > 1:
            yield dataclasses.replace(spec, **{name: getattr(spec, name) - 1})
    (h, w), (kh, kw) = spec.hw, spec.khw
    for size in ((h - 1, w), (h, w - 1)):
        if min(size) >= 1:
            yield dataclasses.replace(spec, size=size)
    for kernel in ((kh - 1, kw), (kh, kw - 1)):
        if min(kernel) >= 1:
            yield dataclasses.replace(spec, kernel=kernel)


def _valid(case) -> bool:
    s = case.spec
    if s.kind in ("affine", "relu", "bn", "sbn"):
        return True  # a batch torch refuses (one value per channel in train mode) is skipped
    if not case.in_contract or case.dout.size == 0 or min(case.dout.shape) < 1:
        return False
    return True


def shrink(run, result: FileResult) -> CaseResult | None:
    """The smallest case that fails like the file's first failure; ``run(case)`` runs the
    student's code on it and returns the child's (reply, arrays)."""
    first = result.first_failure()
    if first is None or first.status in ("timeout", "crash"):
        return None
    target, best = _signature(first), first
    spec = dataclasses.replace(first.case.spec, name="smallest", seed=first.case.spec.seed + 1000)
    attempts = 0
    improved = True
    while improved and attempts < ATTEMPTS:
        improved = False
        for candidate in _smaller(spec):
            attempts += 1
            try:
                case = build_case(candidate, first.case.api)
                if not _valid(case):
                    continue
                expected = torch_reference(case)
            except Exception:  # noqa: BLE001 - a shape torch refuses is no smaller case
                continue
            reply, arrays = run(case)
            try:
                graded = grade_case(case, expected, reply, arrays)
            except Exception:  # noqa: BLE001 - a variant that cannot run there: not smaller
                continue
            if not graded.passed and _signature(graded) == target:
                spec, best, improved = candidate, graded, True
                break
            if attempts >= ATTEMPTS:
                break
    return best if best is not first else None
