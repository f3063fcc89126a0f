"""The battery ``convtrace check`` runs, in this order, each graded against torch.

1. ``worked``: the course's worked example (seed 42: x 1×1×6×6 integers, 2 filters 3×3 of
   -1/0/1, bias 1, valid), with dL/dO the example network's own ∂L/∂H (pool, fc, BCE).
2. ``exercise``: the exercise's layer, batch 10, 4 channels, 7×7, 8 filters 3×3, stride 2,
   "same" → O (10, 8, 4, 4).
3. stride 1 and 2 × valid and same × odd (7) and even (8) sizes, then kernel 1; between them
   1 and 3 channels, batch 1 and 3, kernels 1, 2, 3 and 5.

Every array is float64: the worked example's integers, the others drawn from
``numpy.random.default_rng(case seed)`` (x, W and dL/dO standard normal, b uniform in [-1, 1]),
so every run grades the same numbers. In the CS231n API (one symmetric ``pad``), "same" is
``pad = (k - 1) // 2``, and when the file has ``max_pool_forward_naive`` /
``max_pool_backward_naive`` three max-pooling cases follow (2×2 stride 2, 3×3 stride 2 and
2×2 stride 1, the last two with overlapping windows), graded on out and dX.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.geometry import conv_output_shape, resolve_padding
from ..i18n import Msg

#: |got − torch| ≤ RTOL · max(1, max |torch|), per tensor (float64 inputs).
RTOL = 1e-6


@dataclass(frozen=True)
class CaseSpec:
    name: str
    batch: int
    channels: int
    size: int
    filters: int
    kernel: int
    stride: int
    padding: str  # "valid" | "same"
    seed: int
    kind: str = "conv"  # "conv" | "pool" (max pooling: kernel = window, filters unused)


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
)

POOL_BATTERY: tuple[CaseSpec, ...] = (
    CaseSpec("pool-2x2", 2, 3, 6, 0, 2, 2, "valid", 20, "pool"),
    CaseSpec("pool-3x3-s2", 1, 2, 7, 0, 3, 2, "valid", 21, "pool"),
    CaseSpec("pool-2x2-s1", 2, 1, 5, 0, 2, 1, "valid", 22, "pool"),
)


@dataclass
class Case:
    """One case, ready to grade: x (N, C, H, W), w (F, C, k, k), b (F,), dout (N, F, Ho, Wo);
    ``pads`` ((top, bottom), (left, right)) as the reference applies them."""

    spec: CaseSpec
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    dout: np.ndarray
    pads: tuple
    api: str = "course"

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

    def describe(self) -> str:
        s = self.spec
        size = f"{s.batch}×{s.channels}×{s.size}×{s.size}"
        if s.kind == "pool":
            return Msg(
                "{size}, max pool {k}×{k}, stride {stride}", size=size, k=s.kernel, stride=s.stride
            )
        return Msg(
            "{size}, {filters} filters {k}×{k}, stride {stride}, {padding}",
            size=size, filters=s.filters, k=s.kernel, stride=s.stride, padding=s.padding,
        )  # fmt: skip


def _pads(spec: CaseSpec, api: str):
    if spec.kind == "pool":
        return (0, 0), (0, 0)
    if api == "cs231n":
        p = (spec.kernel - 1) // 2 if spec.padding == "same" else 0
        return (p, p), (p, p)
    k = (spec.kernel, spec.kernel)
    return resolve_padding(spec.padding, (spec.size, spec.size), k, spec.stride)


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
    k = spec.kernel
    if spec.kind == "pool":
        x = rng.standard_normal((spec.batch, spec.channels, spec.size, spec.size))
        out_hw = conv_output_shape((spec.size, spec.size), k, spec.stride)
        dout = rng.standard_normal((spec.batch, spec.channels, *out_hw))
        return Case(spec, x, np.zeros(0), np.zeros(0), dout, pads, api)
    x = rng.standard_normal((spec.batch, spec.channels, spec.size, spec.size))
    w = rng.standard_normal((spec.filters, spec.channels, k, k))
    b = rng.uniform(-1.0, 1.0, spec.filters)
    out_hw = conv_output_shape((spec.size, spec.size), k, spec.stride, pads)
    dout = rng.standard_normal((spec.batch, spec.filters, *out_hw))
    return Case(spec, x, w, b, dout, pads, api)


def build_battery(api: str = "course") -> list[Case]:
    specs = BATTERY + (POOL_BATTERY if api == "cs231n" else ())
    return [build_case(spec, api) for spec in specs]


def torch_reference(case: Case, with_bias: bool = True) -> dict[str, np.ndarray]:
    """torch's O, dF, dX, db for the case: conv2d on the explicitly padded input (the "same"
    rule may pad asymmetrically), autograd with upstream gradient ``dout``."""
    import torch
    import torch.nn.functional as F

    x = torch.tensor(case.x, dtype=torch.float64, requires_grad=True)
    if case.spec.kind == "pool":
        out = F.max_pool2d(x, case.spec.kernel, case.spec.stride)
        out.backward(torch.tensor(case.dout))
        return {"out": out.detach().numpy(), "dX": x.grad.numpy()}
    w = torch.tensor(case.w, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(case.b if with_bias else np.zeros_like(case.b), requires_grad=True)
    (pt, pb), (pl, pr) = case.pads
    out = F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b, stride=case.stride)
    out.backward(torch.tensor(case.dout))
    return {
        "out": out.detach().numpy(),
        "dF": w.grad.numpy(),
        "dX": x.grad.numpy(),
        "db": b.grad.numpy(),
    }
