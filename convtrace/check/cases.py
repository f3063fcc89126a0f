"""The battery ``convtrace check`` runs, in this order, each graded against torch.

1. ``worked``: the course's worked example (seed 42: x 1×1×6×6 integers, 2 filters 3×3 of
   -1/0/1, bias 1, valid), with dL/dO the example network's own ∂L/∂H (pool, fc, BCE).
2. ``exercise``: the exercise's layer, batch 10, 4 channels, 7×7, 8 filters 3×3, stride 2,
   "same" → O (10, 8, 4, 4).
3. stride 1 and 2 × valid and same × odd (7) and even (8) sizes, then kernel 1; between them
   1 and 3 channels, batch 1 and 3, kernels 1, 2, 3 and 5; then two inputs with H ≠ W.

Every array is float64: the worked example's integers, the others drawn from
``numpy.random.default_rng(case seed)`` (x, W and dL/dO standard normal, b uniform in [-1, 1]),
so every run grades the same numbers. In the CS231n API (one symmetric ``pad``), "same" is
``pad = (k - 1) // 2``; six cases of its own follow (pads 0, 1 and 2, kernels with HH ≠ WW,
stride 2 with batch and channels > 1), then, for each pair of functions the file defines:
max pooling (``max_pool_forward_naive``/``_backward_naive``: 2×2 stride 2, overlapping 3×3
stride 2 and 2×2 stride 1, a wide input, a 2×3 window), ``affine_forward``/``_backward`` (x of
2, 3 and 4 dimensions, flattened per sample), ``relu_forward``/``_backward`` and the batch
normalisation pairs (``batchnorm.py``: train and test mode, eps 1e-5, 1e-2 and 1e-1).

The contract: CS231n's naive layers assume the stride divides ``H + 2 pad - HH``; a case where
it does not (``Case.in_contract``) is graded apart: a refusal there costs nothing. Ties in a
pooling window and ReLU inputs at exactly 0 never occur (continuous draws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.geometry import conv_output_shape, resolve_padding
from ..i18n import N_, Msg
from . import batchnorm

#: |got − torch| ≤ RTOL · max(1, max |torch|), per tensor (float64 inputs).
RTOL = 1e-6


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


@dataclass(frozen=True)
class CaseSpec:
    """One case. ``size`` and ``kernel`` are an int (square) or (height, width); ``pad`` is the
    CS231n API's explicit pad (None: from ``padding``); ``shape``/``outputs`` are the affine
    and ReLU cases' input shape and M."""

    name: str
    batch: int
    channels: int
    size: int | tuple[int, int]
    filters: int
    kernel: int | tuple[int, int]
    stride: int
    padding: str  # "valid" | "same"
    seed: int
    kind: str = "conv"  # "conv" | "pool" | "affine" | "relu" | "bn" | "sbn"
    pad: int | None = None
    shape: tuple[int, ...] = ()
    outputs: int = 0
    eps: float = 0.0  # batch normalisation: bn_param's eps, momentum and mode
    momentum: float = 0.0
    mode: str = ""

    @property
    def hw(self) -> tuple[int, int]:
        return _pair(self.size)

    @property
    def khw(self) -> tuple[int, int]:
        return _pair(self.kernel)

    @property
    def square(self) -> bool:
        return self.hw[0] == self.hw[1] and self.khw[0] == self.khw[1]


BATTERY: tuple[CaseSpec, ...] = (
    CaseSpec("worked", 1, 1, 6, 2, 3, 1, "valid", 42),
    CaseSpec("exercise", 10, 4, 7, 8, 3, 2, "same", 1),
    CaseSpec("s1-valid-odd", 1, 1, 7, 2, 3, 1, "valid", 2),
    CaseSpec("s1-same-odd", 3, 3, 7, 3, 5, 1, "same", 3),
    CaseSpec("s1-valid-even", 3, 3, 8, 2, 2, 1, "valid", 4),
    CaseSpec("s1-same-even", 3, 1, 8, 3, 2, 1, "same", 5),
    CaseSpec("s2-valid-odd", 3, 3, 7, 2, 3, 2, "valid", 6),
    CaseSpec("s2-same-odd", 1, 3, 7, 2, 5, 2, "same", 7),
    CaseSpec("s2-valid-even", 3, 1, 8, 3, 5, 2, "valid", 8),
    CaseSpec("s2-same-even", 3, 3, 8, 2, 3, 2, "same", 9),
    CaseSpec("kernel-1", 3, 3, 6, 4, 1, 1, "valid", 10),
    CaseSpec("kernel-1-s2-same", 1, 3, 7, 2, 1, 2, "same", 11),
    # H != W: an output size taken from the wrong side is caught only here
    CaseSpec("wide-valid", 2, 2, (5, 7), 3, 3, 1, "valid", 12),
    CaseSpec("tall-s2-same", 2, 3, (9, 6), 2, 3, 2, "same", 13),
)

#: The CS231n API's own conv cases (one symmetric pad, w of (F, C, HH, WW)): pads 0, 1 and 2,
#: kernels with HH != WW, inputs with H != W, batch and channels > 1 with stride and pad.
CS231N_CONV: tuple[CaseSpec, ...] = (
    CaseSpec("pad0-wide-kernel", 2, 2, (5, 7), 3, (3, 2), 1, "valid", 30, pad=0),
    CaseSpec("pad1-tall", 2, 3, (6, 4), 2, 3, 1, "same", 31, pad=1),
    CaseSpec("pad2-kernel-2x3", 1, 2, (4, 5), 2, (2, 3), 1, "same", 32, pad=2),
    CaseSpec("pad1-s2-wide", 3, 2, (5, 7), 2, (3, 3), 2, "same", 33, pad=1),
    CaseSpec("pad0-s2-kernel-3x2", 2, 3, (7, 6), 2, (3, 2), 2, "valid", 34, pad=0),
    CaseSpec("pad2-s2-batch", 3, 2, (6, 6), 3, (4, 2), 2, "same", 35, pad=2),
)

POOL_BATTERY: tuple[CaseSpec, ...] = (
    CaseSpec("pool-2x2", 2, 3, 6, 0, 2, 2, "valid", 20, "pool"),
    CaseSpec("pool-3x3-s2", 1, 2, 7, 0, 3, 2, "valid", 21, "pool"),
    CaseSpec("pool-2x2-s1", 2, 1, 5, 0, 2, 1, "valid", 22, "pool"),
    CaseSpec("pool-wide-2x2", 2, 2, (4, 6), 0, 2, 2, "valid", 23, "pool"),
    CaseSpec("pool-2x3-s1", 1, 2, (4, 6), 0, (2, 3), 1, "valid", 24, "pool"),
)

AFFINE_BATTERY: tuple[CaseSpec, ...] = (
    CaseSpec("affine-2d", 4, 0, 0, 0, 0, 0, "", 40, "affine", shape=(4, 5), outputs=3),
    CaseSpec("affine-4d", 2, 0, 0, 0, 0, 0, "", 41, "affine", shape=(2, 3, 2, 2), outputs=4),
    CaseSpec("affine-3d", 3, 0, 0, 0, 0, 0, "", 42, "affine", shape=(3, 4, 2), outputs=2),
)

RELU_BATTERY: tuple[CaseSpec, ...] = (
    CaseSpec("relu-2d", 4, 0, 0, 0, 0, 0, "", 50, "relu", shape=(4, 6)),
    CaseSpec("relu-4d", 2, 0, 0, 0, 0, 0, "", 51, "relu", shape=(2, 3, 4, 5)),
)

#: batchnorm_forward/_backward (x of (N, D)) and the spatial pair (N, C, H, W): see batchnorm.py
BN_BATTERY: tuple[CaseSpec, ...] = tuple(
    CaseSpec(name, shape[0], 0, 0, 0, 0, 0, "", seed, "sbn" if len(shape) == 4 else "bn",
             shape=shape, eps=eps, momentum=momentum, mode=mode)
    for name, shape, eps, momentum, mode, seed in batchnorm.SPECS
)  # fmt: skip

#: The sections of the report, in order: what each kind of case grades.
SECTIONS = {
    "conv": N_("convolution"),
    "pool": N_("max pooling"),
    "affine": N_("affine"),
    "relu": N_("ReLU"),
    "bn": N_("batch normalisation"),
    "sbn": N_("spatial batch normalisation"),
}


@dataclass
class Case:
    """One case, ready to grade: x (N, C, H, W), w (F, C, kh, kw), b (F,), dout (N, F, Ho, Wo);
    ``pads`` ((top, bottom), (left, right)) as the reference applies them. Affine: x of
    ``spec.shape``, w (D, M), b (M,); ReLU: x only."""

    spec: CaseSpec
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    dout: np.ndarray
    pads: tuple
    api: str = "course"
    running: tuple = ()  # batch normalisation: bn_param's running_mean and running_var

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def stride(self) -> tuple[int, int]:
        return (self.spec.stride, self.spec.stride)

    @property
    def padding(self):
        """What the student is told: "valid"/"same" (course API), or the int pad (cs231n)."""
        return self.pads[0][0] if self.api == "cs231n" else self.spec.padding

    @property
    def in_contract(self) -> bool:
        """Inside what the API promises: CS231n's naive layers assume the stride divides
        H + 2 pad - HH (and W + 2 pad - WW; H - pool_height for pooling)."""
        s = self.spec
        if self.api != "cs231n" or s.kind not in ("conv", "pool"):
            return True
        pad = self.pads[0][0] if s.kind == "conv" else 0
        return all((n + 2 * pad - k) % s.stride == 0 for n, k in zip(s.hw, s.khw, strict=True))

    def describe(self) -> str:
        s = self.spec
        if s.kind in batchnorm.KINDS:
            return batchnorm.describe(s)
        if s.kind in ("affine", "relu"):
            shape = "×".join(map(str, s.shape))
            if s.kind == "relu":
                return Msg("x {shape}, ReLU", shape=shape)
            return Msg("x {shape}, affine to {outputs}", shape=shape, outputs=s.outputs)
        (h, w), (kh, kw) = s.hw, s.khw
        size = f"{s.batch}×{s.channels}×{h}×{w}"
        if s.kind == "pool":
            return Msg(
                "{size}, max pool {kh}×{kw}, stride {stride}", size=size, kh=kh, kw=kw,
                stride=s.stride,
            )  # fmt: skip
        padding = Msg("pad {pad}", pad=self.padding) if self.api == "cs231n" else s.padding
        return Msg(
            "{size}, {filters} filters {kh}×{kw}, stride {stride}, {padding}",
            size=size, filters=s.filters, kh=kh, kw=kw, stride=s.stride, padding=padding,
        )  # fmt: skip


def _pads(spec: CaseSpec, api: str):
    if spec.kind != "conv":
        return (0, 0), (0, 0)
    if api == "cs231n":
        p = spec.pad
        if p is None:
            p = (spec.khw[0] - 1) // 2 if spec.padding == "same" else 0
        return (p, p), (p, p)
    return resolve_padding(spec.padding, spec.hw, spec.khw, spec.stride)


def _worked_example():
    """x, W, b and ∂L/∂H of the course's worked example (torch's generator, seed 42)."""
    from ..scenario.build import build_scenario
    from ..scenario.spec import ScenarioSpec
    from ..tracing.pipeline import run_pipeline

    scenario = build_scenario(ScenarioSpec(dtype="float64", method="loop"))
    trace = run_pipeline(scenario)
    grad_h = np.asarray(trace["grad.conv.out"].values, dtype=np.float64)
    return scenario.x, scenario.conv_weight, scenario.conv_bias, grad_h


def build_case(spec: CaseSpec, api: str = "course") -> Case:
    """The arrays of one case (see the module docstring)."""
    pads = _pads(spec, api)
    if spec.name == "worked":
        x, w, b, dout = _worked_example()
        return Case(spec, x, w, b, dout, pads, api)
    rng = np.random.default_rng(spec.seed)
    empty = np.zeros(0)
    if spec.kind in batchnorm.KINDS:
        a = batchnorm.build(spec, rng)
        return Case(spec, a["x"], a["w"], a["b"], a["dout"], pads, api,
                    (a["running_mean"], a["running_var"]))  # fmt: skip
    if spec.kind == "relu":  # continuous draws: no input is exactly 0 (outside the contract)
        x = rng.standard_normal(spec.shape)
        return Case(spec, x, empty, empty, rng.standard_normal(spec.shape), pads, api)
    if spec.kind == "affine":
        x = rng.standard_normal(spec.shape)
        d = int(np.prod(spec.shape[1:]))
        w, b = rng.standard_normal((d, spec.outputs)), rng.uniform(-1.0, 1.0, spec.outputs)
        dout = rng.standard_normal((spec.shape[0], spec.outputs))
        return Case(spec, x, w, b, dout, pads, api)
    x = rng.standard_normal((spec.batch, spec.channels, *spec.hw))
    if spec.kind == "pool":  # continuous draws: no ties inside a window
        out_hw = conv_output_shape(spec.hw, spec.khw, spec.stride)
        dout = rng.standard_normal((spec.batch, spec.channels, *out_hw))
        return Case(spec, x, empty, empty, dout, pads, api)
    w = rng.standard_normal((spec.filters, spec.channels, *spec.khw))
    b = rng.uniform(-1.0, 1.0, spec.filters)
    out_hw = conv_output_shape(spec.hw, spec.khw, spec.stride, pads)
    dout = rng.standard_normal((spec.batch, spec.filters, *out_hw))
    return Case(spec, x, w, b, dout, pads, api)


def battery_specs(api: str = "course") -> tuple[CaseSpec, ...]:
    """The battery's cases for ``api``, in order (known without torch: ``build_battery``
    draws the worked example's numbers with torch's generator)."""
    if api == "cs231n":
        return BATTERY + CS231N_CONV + POOL_BATTERY + AFFINE_BATTERY + RELU_BATTERY + BN_BATTERY
    return BATTERY


def build_battery(api: str = "course") -> list[Case]:
    return [build_case(spec, api) for spec in battery_specs(api)]


class References:
    """torch's values for each case of ``cases``, computed on first use and kept: a file without
    the affine functions never pays for their reference (autograd's first call)."""

    def __init__(self, cases: list[Case]):
        self.cases = cases
        self._values: list = [None] * len(cases)

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if self._values[index] is None:
            self._values[index] = torch_reference(self.cases[index])
        return self._values[index]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def known(self, index: int) -> dict[str, np.ndarray] | None:
        """torch's values for case ``index`` if computed already, else None (not computed)."""
        return self._values[index]


def torch_reference(case: Case, with_bias: bool = True) -> dict[str, np.ndarray]:
    """torch's O, dF, dX, db for the case: conv2d on the explicitly padded input (the "same"
    rule may pad asymmetrically), autograd with upstream gradient ``dout``."""
    import torch
    import torch.nn.functional as F

    kind = case.spec.kind
    if kind in batchnorm.KINDS:
        return batchnorm.torch_reference(case)
    x = torch.tensor(case.x, dtype=torch.float64, requires_grad=True)
    if kind in ("pool", "relu"):  # torch's own backward kernels, called directly (as conv)
        xd, dout = x.detach(), torch.tensor(case.dout, dtype=torch.float64)
        if kind == "pool":
            k, stride = list(case.spec.khw), [case.spec.stride] * 2
            out, where = torch.ops.aten.max_pool2d_with_indices(xd, k, stride)
            dx = torch.ops.aten.max_pool2d_with_indices_backward(
                dout, xd, k, stride, [0, 0], [1, 1], False, where
            )
        else:
            out = torch.relu(xd)
            dx = torch.ops.aten.threshold_backward(dout, xd, 0)
        return {"out": out.numpy(), "dX": dx.numpy()}
    if kind == "affine":
        w = torch.tensor(case.w, requires_grad=True)
        b = torch.tensor(case.b, requires_grad=True)
        out = x.reshape(x.shape[0], -1) @ w + b
        # autograd from Σ out·dout: dL/dout is 1·dout, exactly out.backward(dout)'s numbers,
        # without the ~0.5 s import of sympy torch makes for an explicit gradient
        (out * torch.tensor(case.dout)).sum().backward()
        return {"out": out.detach().numpy(), "dF": w.grad.numpy(), "dX": x.grad.numpy(),
                "db": b.grad.numpy()}  # fmt: skip
    # torch's own convolution backward kernel, called directly: the same numbers as autograd
    # (tests/test_check_catalog.py compares them), without autograd's ~0.5 s first-call cost
    w = torch.tensor(case.w, dtype=torch.float64)
    b = torch.tensor(case.b if with_bias else np.zeros_like(case.b), dtype=torch.float64)
    (pt, pb), (pl, pr) = case.pads
    xp = F.pad(x.detach(), (pl, pr, pt, pb))
    out = F.conv2d(xp, w, b, stride=case.stride)
    dout = torch.tensor(case.dout, dtype=torch.float64)
    dxp, dw, db = torch.ops.aten.convolution_backward(
        dout, xp, w, [w.shape[0]], list(case.stride), [0, 0], [1, 1], False, [0, 0], 1,
        [True, True, True],
    )  # fmt: skip
    h, wd = case.x.shape[2:]
    return {
        "out": out.numpy(),
        "dF": dw.numpy(),
        "dX": dxp[:, :, pt : pt + h, pl : pl + wd].numpy(),  # the adjoint of the padding
        "db": db.numpy(),
    }
