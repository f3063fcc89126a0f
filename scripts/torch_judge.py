"""An independent judge of CS231n ``layers.py`` files: torch only, no convtrace.

    python scripts/torch_judge.py FILE.py [FILE.py ...]   # a JSON line per file: {file: verdicts}

Each file runs in a forked child of this process (torch is imported once) with a time limit,
runs conv / max-pool / affine / ReLU / batch normalisation (train and test mode) forward
and backward on its own shapes and seeds (not the
grader's), and compares with torch's autograd in float64. A pair is ``pass`` when every case
inside the assignment's contract agrees within 1e-6 · max(1, max|torch|); ``fail`` otherwise;
``absent`` when the file does not define both functions. Outside the contract (a stride that
does not divide, for conv and pool) a refusal (an exception) is fine and a right answer too:
only a wrong answer there is noted, never counted. Ties in max pooling and ReLU inputs at 0
never occur (continuous random data).
"""

from __future__ import annotations

import json
import os
import runpy
import sys

import numpy as np

RTOL = 1e-6
#: CS231n's starter helpers (``cs231n.im2col``, numpy only), which a ``layers.py`` may import:
#: the grader offers them to the submission, so the judge does too (no convtrace is imported)
STARTER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "convtrace", "check",
                       "starter")  # fmt: skip

PAIRS = {
    "conv": ("conv_forward_naive", "conv_backward_naive"),
    "pool": ("max_pool_forward_naive", "max_pool_backward_naive"),
    "affine": ("affine_forward", "affine_backward"),
    "relu": ("relu_forward", "relu_backward"),
    "bn": ("batchnorm_forward", "batchnorm_backward"),
    "sbn": ("spatial_batchnorm_forward", "spatial_batchnorm_backward"),
}

# (N, C, H, W, F, HH, WW, stride, pad): inside the contract ((H + 2 pad - HH) % stride == 0)
CONV = [
    (2, 3, 5, 5, 2, 3, 3, 1, 1),
    (1, 2, 6, 4, 3, 3, 3, 1, 0),
    (2, 1, 5, 8, 2, 3, 2, 2, 1),
    (1, 2, 4, 6, 2, 2, 4, 2, 0),
    (2, 2, 5, 6, 2, 3, 2, 1, 2),
    (3, 1, 7, 5, 1, 3, 3, 2, 0),
]
assert all((h + 2 * p - hh) % s == (w + 2 * p - ww) % s == 0 for *_, h, w, _, hh, ww, s, p in CONV)
CONV_OUTSIDE = [(1, 2, 6, 6, 2, 3, 3, 2, 0)]  # stride 2 does not divide 6 - 3
# (N, C, H, W, ph, pw, stride): inside the contract ((H - ph) % stride == 0)
POOL = [(2, 2, 4, 4, 2, 2, 2), (1, 2, 5, 7, 3, 3, 2), (2, 1, 4, 5, 2, 3, 1), (1, 1, 6, 4, 2, 2, 2)]
POOL_OUTSIDE = [(1, 1, 5, 5, 2, 2, 2)]
assert all((h - ph) % s == 0 == (w - pw) % s for _, _, h, w, ph, pw, s in POOL)
# (x shape, eps, momentum, mode): CS231n's bn_param; a large eps shows where eps goes
BN = [((5, 4), 1e-5, 0.9, "train"), ((4, 3), 0.1, 0.7, "train"), ((5, 4), 1e-5, 0.9, "test"),
      ((3, 6), 0.05, 0.9, "test")]  # fmt: skip
SBN = [((2, 3, 3, 4), 1e-5, 0.9, "train"), ((3, 2, 2, 3), 0.1, 0.7, "train"),
       ((2, 3, 3, 4), 0.05, 0.9, "test"), ((2, 2, 4, 3), 1e-5, 0.9, "test")]  # fmt: skip
AFFINE = [((3, 4), 5), ((2, 3, 2, 2), 4), ((4, 6, 1), 3)]  # x shape, M


def close(got, want) -> bool:
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    if got.shape != want.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    error = float(np.max(np.abs(got - want), initial=0))
    return bool(np.all(np.isfinite(got))) and error <= RTOL * scale


def judge_conv(fwd, bwd, case, rng):
    import torch
    import torch.nn.functional as F

    n, c, h, w, f, hh, ww, s, p = case
    x, wt = rng.standard_normal((n, c, h, w)), rng.standard_normal((f, c, hh, ww))
    b = rng.standard_normal(f)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, wt, b))
    tout = F.conv2d(tx, tw, tb, stride=s, padding=p)
    dout = rng.standard_normal(tuple(tout.shape))
    tout.backward(torch.tensor(dout))
    out, cache = fwd(x.copy(), wt.copy(), b.copy(), {"stride": s, "pad": p})
    if not close(out, tout):
        return "forward"
    dx, dw, db = bwd(dout.copy(), cache)
    for name, got, want in (("dx", dx, tx.grad), ("dw", dw, tw.grad), ("db", db, tb.grad)):
        if not close(got, want):
            return name
    return None


def judge_pool(fwd, bwd, case, rng):
    import torch
    import torch.nn.functional as F

    n, c, h, w, ph, pw, s = case
    x = rng.standard_normal((n, c, h, w))
    tx = torch.tensor(x, requires_grad=True)
    tout = F.max_pool2d(tx, (ph, pw), s)
    dout = rng.standard_normal(tuple(tout.shape))
    tout.backward(torch.tensor(dout))
    out, cache = fwd(x.copy(), {"pool_height": ph, "pool_width": pw, "stride": s})
    if not close(out, tout):
        return "forward"
    return None if close(bwd(dout.copy(), cache), tx.grad) else "dx"


def judge_affine(fwd, bwd, case, rng):
    import torch

    shape, m = case
    d = int(np.prod(shape[1:]))
    x, w, b = rng.standard_normal(shape), rng.standard_normal((d, m)), rng.standard_normal(m)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = tx.reshape(shape[0], d) @ tw + tb
    dout = rng.standard_normal((shape[0], m))
    tout.backward(torch.tensor(dout))
    out, cache = fwd(x.copy(), w.copy(), b.copy())
    if not close(out, tout):
        return "forward"
    dx, dw, db = bwd(dout.copy(), cache)
    for name, got, want in (("dx", dx, tx.grad), ("dw", dw, tw.grad), ("db", db, tb.grad)):
        if not close(got, want):
            return name
    return None


def judge_relu(fwd, bwd, case, rng):
    import torch

    x = rng.standard_normal(case)
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.relu(tx)
    dout = rng.standard_normal(case)
    tout.backward(torch.tensor(dout))
    out, cache = fwd(x.copy())
    if not close(out, tout):
        return "forward"
    return None if close(bwd(dout.copy(), cache), tx.grad) else "dx"


def judge_bn(fwd, bwd, case, rng):
    """torch.nn.functional.batch_norm; the running statistics as CS231n's docstring says
    (momentum weighs the old value, the batch's biased variance), with torch's mean and var."""
    import torch
    import torch.nn.functional as F

    shape, eps, momentum, mode = case
    c = shape[1]
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    gamma, beta = rng.uniform(0.3, 2.0, c), rng.standard_normal(c)
    rm, rv = rng.standard_normal(c), rng.uniform(0.3, 3.0, c)
    param = {"mode": mode, "eps": eps, "momentum": momentum, "running_mean": rm.copy(),
             "running_var": rv.copy()}  # fmt: skip
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    out, cache = fwd(x.copy(), gamma.copy(), beta.copy(), param)
    if mode == "test":
        want = F.batch_norm(tx, torch.tensor(rm), torch.tensor(rv), tg, tb, False, 0.0, eps)
        return None if close(out, want) else "forward (test mode)"
    tout = F.batch_norm(tx, None, None, tg, tb, True, 0.0, eps)
    tout.backward(torch.tensor(dout))
    if not close(out, tout):
        return "forward"
    dims = [0] if len(shape) == 2 else [0, 2, 3]
    tmean, tvar = torch.tensor(x).mean(dims), torch.tensor(x).var(dims, unbiased=False)
    for key, old, stat in (("running_mean", rm, tmean), ("running_var", rv, tvar)):
        if not close(param.get(key), momentum * torch.tensor(old) + (1 - momentum) * stat):
            return key
    dx, dgamma, dbeta = bwd(dout.copy(), cache)
    for name, got, want in (("dx", dx, tx.grad), ("dgamma", dgamma, tg.grad),
                            ("dbeta", dbeta, tb.grad)):  # fmt: skip
        if not close(got, want):
            return name
    return None


JUDGES = {
    "conv": (judge_conv, CONV, CONV_OUTSIDE),
    "pool": (judge_pool, POOL, POOL_OUTSIDE),
    "affine": (judge_affine, AFFINE, []),
    "relu": (judge_relu, [(3, 4), (2, 3, 4, 5)], []),
    "bn": (judge_bn, BN, []),
    "sbn": (judge_bn, SBN, []),
}


def judge_file(path: str) -> dict:
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    sys.path.append(os.path.normpath(STARTER))
    try:
        namespace = runpy.run_path(path, run_name="judged")
    except BaseException as error:  # noqa: BLE001 - a file that does not load fails everything
        why = f"load: {type(error).__name__}"
        return {k: {"verdict": "fail", "why": why} for k in PAIRS}
    verdicts = {}
    for key, names in PAIRS.items():
        fwd, bwd = (namespace.get(n) for n in names)
        if not (callable(fwd) and callable(bwd)):
            verdicts[key] = {"verdict": "absent"}
            continue
        judge, inside, outside = JUDGES[key]
        rng = np.random.default_rng(1234)
        why = None
        for case in inside:
            try:
                wrong = judge(fwd, bwd, case, rng)
            except BaseException as error:  # noqa: BLE001
                wrong = f"raised {type(error).__name__}"
            if wrong:
                why = f"{wrong} on {case}"
                break
        note = None
        for case in outside:
            try:
                wrong = judge(fwd, bwd, case, rng)
                if wrong:
                    note = f"outside the contract: {wrong} wrong on {case}"
            except BaseException:  # noqa: BLE001 - refusing outside the contract is fine
                note = "refuses a stride that does not divide"
        verdicts[key] = {"verdict": "fail" if why else "pass", "why": why, "note": note}
    return verdicts


def _child(path: str, send) -> None:
    sys.stdout = sys.stderr = open(os.devnull, "w")  # the file's prints
    send.send(judge_file(path))


def judge_in_child(path: str, timeout: float = 60.0) -> dict:
    """``judge_file`` in a forked child: a crash or a loop fails the file, not the judge."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(path, send))
    child.start()
    ready = receive.poll(timeout)
    result = receive.recv() if ready else None
    child.join(1)
    if child.is_alive():
        child.kill()
    if result is None:
        return {k: {"verdict": "fail", "why": "judge: no answer in time"} for k in PAIRS}
    return result


if __name__ == "__main__":
    import torch  # noqa: F401 - once, before the children fork

    for name in sys.argv[1:]:
        print(json.dumps({name: judge_in_child(name)}), flush=True)
