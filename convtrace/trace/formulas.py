"""One-line formulas for each stage, written with the run's actual numbers."""

from __future__ import annotations

from ..core.geometry import effective_kernel


def output_size_line(axis: str, size: int, pad: tuple[int, int], k: int, s: int, d: int) -> str:
    """``H_out = ⌊(6 + 0 + 0 − 1·(3−1) − 1) / 1⌋ + 1 = 4`` for one axis."""
    out = (size + pad[0] + pad[1] - effective_kernel(k, d)) // s + 1
    return f"{axis}_out = ⌊({size} + {pad[0]} + {pad[1]} − {d}·({k}−1) − 1) / {s}⌋ + 1 = {out}"


def conv_out(scenario) -> str:
    (kh, kw), (sh, sw), (dh, dw) = scenario.kernel, scenario.stride, scenario.dilation
    h, w = scenario.x.shape[2:]
    ph, pw = scenario.pads
    return (
        "H = W_row @ X_col + b;  "
        + output_size_line("H", h, ph, kh, sh, dh)
        + ";  "
        + output_size_line("W", w, pw, kw, sw, dw)
    )


def pool_out(scenario, conv_hw) -> str:
    (kh, kw), (sh, sw) = scenario.pool_size, scenario.pool_stride
    op = "max" if scenario.pool == "max" else "mean"
    ho = (conv_hw[0] - kh) // sh + 1
    wo = (conv_hw[1] - kw) // sw + 1
    return (
        f"P[n,c,i,j] = {op} of the {kh}×{kw} window at ({sh}·i, {sw}·j);  "
        f"H_out = ⌊({conv_hw[0]} − {kh}) / {sh}⌋ + 1 = {ho}, "
        f"W_out = ⌊({conv_hw[1]} − {kw}) / {sw}⌋ + 1 = {wo}"
    )


LOSS_FORMULAS = {
    "bce": "L = mean(max(z,0) − z·y + log(1 + e^−|z|))",
    "mse": "L = mean((z − y)²)",
    "ce": "L = mean(logsumexp(z) − z[y])",
}

LOSS_GRADIENTS = {
    "bce": "∂L/∂z = (σ(z) − y) / numel",
    "mse": "∂L/∂z = 2(z − y) / numel",
    "ce": "∂L/∂z = (softmax(z) − onehot(y)) / N",
}
