"""Batch normalisation in ``convtrace check --api cs231n``: the cases, torch's answer, and the
mistakes named from evidence.

CS231n's contract: ``batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)`` for x (N, D)
and ``spatial_batchnorm_forward`` for x (N, C, H, W) (statistics per channel, over N, H, W);
``bn_param`` holds ``mode`` ('train' | 'test'), ``eps``, ``momentum``, ``running_mean`` and
``running_var``. Train mode normalises with the batch's mean μ and biased variance σ² (np.var),
``x̂ = (x − μ) / sqrt(σ² + eps)``, ``out = γ·x̂ + β``, and leaves in ``bn_param``
``running_mean = momentum·running_mean + (1 − momentum)·μ`` (and the same for the variance
with σ²). Test mode normalises with the running statistics, eps inside the square root too.
The backward functions return (dx, dgamma, dbeta) from a train-mode cache.

With eps = 1e-5 on unit-scale data, leaving eps out changes the output by a few parts in a
million: the battery has cases with eps = 1e-2 and 1e-1, where it changes it by percents.
"""

from __future__ import annotations

import numpy as np

from ..i18n import Msg

KINDS = ("bn", "sbn")
#: (name, x shape, eps, momentum, mode, seed)
#: A large eps first in each mode: the first failure shown is one whose numbers differ visibly.
SPECS = (
    ("bn-train-eps-0.1", (6, 3), 1e-1, 0.9, "train", 61),
    ("bn-train", (4, 5), 1e-5, 0.9, "train", 60),
    ("bn-test-eps-0.1", (3, 3), 1e-1, 0.9, "test", 64),
    ("bn-test-eps-0.01", (5, 4), 1e-2, 0.9, "test", 63),
    ("bn-test", (4, 5), 1e-5, 0.9, "test", 62),
    ("sbn-train-eps-0.1", (3, 2, 3, 3), 1e-1, 0.8, "train", 71),
    ("sbn-train", (2, 3, 4, 5), 1e-5, 0.9, "train", 70),
    ("sbn-test-eps-0.01", (2, 3, 4, 4), 1e-2, 0.9, "test", 72),
    ("sbn-test", (2, 2, 3, 5), 1e-5, 0.9, "test", 73),
)


def _axes(x: np.ndarray) -> tuple[int, ...]:
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _channels(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A per-channel vector shaped to broadcast against x."""
    return a if x.ndim == 2 else a.reshape(1, -1, 1, 1)


def build(spec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """x, γ (as ``w``), β (as ``b``), dout and the running statistics of one case."""
    x = rng.standard_normal(spec.shape)
    c = spec.shape[1]
    return {
        "x": x,
        "w": rng.uniform(0.5, 1.5, c),
        "b": rng.uniform(-1.0, 1.0, c),
        "dout": rng.standard_normal(spec.shape),
        "running_mean": rng.standard_normal(c),
        "running_var": rng.uniform(0.5, 2.0, c),
    }


def describe(spec) -> str:
    shape = "×".join(map(str, spec.shape))
    return Msg("x {shape}, {mode} mode, eps {eps:g}", shape=shape, mode=spec.mode, eps=spec.eps)


def torch_reference(case) -> dict[str, np.ndarray]:
    """torch's out (``F.batch_norm``), and in train mode dX, dγ, dβ by autograd and the running
    statistics CS231n's way (momentum weighs the old value; the biased variance)."""
    import torch
    import torch.nn.functional as F

    s = case.spec
    x = torch.tensor(case.x, requires_grad=True)
    gamma = torch.tensor(case.w, requires_grad=True)
    beta = torch.tensor(case.b, requires_grad=True)
    rm, rv = (torch.tensor(a) for a in case.running)
    if s.mode == "test":
        out = F.batch_norm(x.detach(), rm, rv, gamma.detach(), beta.detach(), False, 0.0, s.eps)
        return {"out": out.numpy()}
    out = F.batch_norm(x, None, None, gamma, beta, True, 0.0, s.eps)
    # Σ out·dout: exactly out.backward(dout)'s numbers, without torch's import of sympy
    (out * torch.tensor(case.dout)).sum().backward()
    dims = list(_axes(case.x))
    xd = x.detach()
    mean, var = xd.mean(dim=dims), xd.var(dim=dims, unbiased=False)
    m = s.momentum
    return {
        "out": out.detach().numpy(),
        "dF": gamma.grad.numpy(),
        "dX": x.grad.numpy(),
        "db": beta.grad.numpy(),
        "running_mean": (m * rm + (1 - m) * mean).numpy(),
        "running_var": (m * rv + (1 - m) * var).numpy(),
    }


# --------------------------------------------------------------------------- the mistakes
def _out(case, divide) -> np.ndarray:
    """γ·(x − μ)/divide(σ²) + β, with the batch's statistics (train) or the running ones."""
    x, axes = case.x, _axes(case.x)
    if case.spec.mode == "test":
        mean, var = case.running
    else:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    xhat = (x - _channels(mean, x)) / _channels(divide(var), x)
    return _channels(case.w, x) * xhat + _channels(case.b, x)


def _eps_variants(case) -> list[np.ndarray]:
    """The output with eps left out, and with eps outside the square root."""
    eps = case.spec.eps
    return [_out(case, np.sqrt), _out(case, lambda v: np.sqrt(v) + eps)]


def _std_running_var(case) -> list[np.ndarray]:
    """running_var updated with the standard deviation (with or without eps)."""
    x, m, eps = case.x, case.spec.momentum, case.spec.eps
    var = x.var(axis=_axes(x))
    rv = case.running[1]
    return [m * rv + (1 - m) * np.sqrt(var), m * rv + (1 - m) * np.sqrt(var + eps)]


def _shared_running(case) -> dict[str, np.ndarray]:
    """The running statistics when one bn_param (vectors of C) serves a loop over channels:
    every channel's batch statistic updates the whole vector, one after the other."""
    x, m = case.x, case.spec.momentum
    rm, rv = (np.array(a, dtype=np.float64) for a in case.running)
    for c in range(x.shape[1]):
        rm = m * rm + (1 - m) * x[:, c].mean()
        rv = m * rv + (1 - m) * x[:, c].var()
    return {"running_mean": rm, "running_var": rv}


def findings(kind: str, rs: list, failing: set[str], within) -> list[tuple[str, str, set]]:
    """(catalog id, evidence, cases) for batch normalisation's mistakes, each only when every
    failing case of the section fits it."""
    bad = [r for r in rs if r.case.name in failing]
    if not bad:
        return []
    train = {r.case.name for r in rs if r.case.spec.mode == "train"}
    bad_train = [r for r in bad if r.case.name in train]

    def out_fits(r, variants) -> bool:
        return r.status == "ok" and any(within(r.got.get("out"), v) for v in variants)

    if not bad_train and all(out_fits(r, _eps_variants(r.case)[:1]) for r in bad):
        evidence = Msg(
            "every train-mode case passes; in test mode the output is "
            "(x − running_mean) / sqrt(running_var), eps left out"
        )
        return [("bn-test-eps-missing", evidence, failing)]
    if all(r.checks.get("out") is False and out_fits(r, _eps_variants(r.case)) for r in bad):
        evidence = Msg(
            "in every failing case the output is x − μ divided by sqrt(σ²) or sqrt(σ²) + eps"
        )
        return [("bn-eps-misplaced", evidence, failing)]
    right = ("out", "dX", "dF", "db")
    rest_right = [
        r
        for r in bad_train
        if r.status == "ok" and all(r.checks.get(k) is not False for k in right)
    ]
    if (
        len(rest_right) == len(bad)
        and all(r.checks.get("running_mean") is not False for r in bad)
        and all(any(within(r.got["running_var"], v) for v in _std_running_var(r.case)) for r in bad)
    ):
        evidence = Msg(
            "everything else is right; running_var is updated with the batch's standard "
            "deviation, not its variance"
        )
        return [("bn-running-var-std", evidence, failing)]
    shared = {
        r.case.name
        for r in rest_right
        if all(within(r.got.get(k), v) for k, v in _shared_running(r.case).items())
    }
    if kind == "sbn" and shared == train:
        evidence = Msg(
            "the train-mode outputs and gradients are right; the running statistics are those "
            "of one bn_param updated once per channel"
        )
        return [("bn-spatial-shared-param", evidence, failing)]
    return []
