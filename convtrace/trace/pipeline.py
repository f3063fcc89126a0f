"""The classroom network, layer by layer, recording every intermediate tensor as a Stage.

conv → [relu] → [max|avg pool] → flatten → fc → loss, then backward in reverse. The pipeline
decides what is recorded; layers only expose their intermediates (``cols``, ``argmax``, …).
"""

from __future__ import annotations

import numpy as np

from ..core.im2col import pad_input
from ..core.layers import AvgPool2D, Conv2D, Flatten, Linear, MaxPool2D, ReLU
from ..core.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from ..scenario.spec import Scenario
from . import formulas
from .stage import Stage, Trace

LOSSES = {"bce": BCEWithLogitsLoss, "mse": MSELoss, "ce": CrossEntropyLoss}


class Network:
    """The scenario's layers, built with its weights. ``alt_conv`` is the loop layer when the
    scenario asks for both methods (the im2col one is primary, so its X_col can be shown)."""

    def __init__(self, scenario: Scenario):
        s = scenario
        primary = "loop" if s.method == "loop" else "im2col"

        def conv(method):
            return Conv2D(
                s.filters,
                s.kernel,
                s.stride,
                s.pads,
                s.dilation,
                weight=s.conv_weight,
                bias=s.conv_bias,
                method=method,
            )

        self.conv = conv(primary)
        self.alt_conv = conv("loop") if s.method == "both" else None
        if s.bug:  # the broken variant alone: comparing it with a correct method says nothing
            from ..check.catalog import BuggyConv2D

            self.conv = BuggyConv2D(
                s.bug,
                s.filters,
                s.kernel,
                s.stride,
                s.padding,
                weight=s.conv_weight,
                bias=s.conv_bias,
            )
            self.alt_conv = None
        self.act = ReLU() if s.activation == "relu" else None
        pools = {"max": MaxPool2D, "avg": AvgPool2D}
        self.pool = pools[s.pool](s.pool_size, s.pool_stride) if s.pool in pools else None
        self.flatten = Flatten()
        self.fc = Linear(
            s.fc_weight.shape[1], s.fc_weight.shape[0], weight=s.fc_weight, bias=s.fc_bias
        )
        self.loss = LOSSES[s.loss]()


#: Every stage name a run can record, in order (which ones a run has depends on its flags);
#: ``--only`` is checked against these before anything is computed.
STAGE_NAMES = (
    "input", "conv.weight", "conv.bias", "conv.padded", "conv.cols", "conv.weight_rows",
    "conv.out", "act.out", "pool.cols", "pool.argmax", "pool.out", "flatten.out", "fc.out",
    "loss", "grad.fc.out", "grad.fc.weight", "grad.fc.bias", "grad.flatten.out",
    "grad.pool.out", "grad.pool.cols", "grad.act.out", "grad.conv.out", "grad.conv.weight",
    "grad.conv.bias", "grad.conv.cols", "grad.input",
)  # fmt: skip


#: Axis names of each stage (a gradient has its tensor's): n sample, c/f channel/filter, h w
#: pixel, i j output position, u v kernel offset, k a column matrix's row, l its column, o a
#: logit.
_NCHW, _NFIJ = ("n", "c", "h", "w"), ("n", "f", "i", "j")
STAGE_AXES = {
    "input": _NCHW, "conv.weight": ("f", "c", "u", "v"), "conv.bias": ("f",),
    "conv.padded": _NCHW, "conv.cols": ("n", "k", "l"), "conv.weight_rows": ("f", "k"),
    "conv.out": _NFIJ, "act.out": _NFIJ, "pool.cols": ("n", "c", "k", "l"),
    "pool.argmax": ("n", "c", "i", "j"), "pool.out": ("n", "c", "i", "j"),
    "flatten.out": ("n", "k"), "fc.out": ("n", "o"), "fc.weight": ("o", "k"),
    "fc.bias": ("o",), "loss": (),
}  # fmt: skip


def saturation_note(z: np.ndarray, target: np.ndarray, loss: str) -> str | None:
    """One line when BCE saturates: σ(z) lies within the dtype's rounding of the target y in
    every sample, so the loss and every gradient (σ(z) − y) are too small to teach anything.

    z: (N, out) logits, target: (N, out). None when the loss is not saturated (or not bce).
    """
    if loss != "bce" or z.size == 0:
        return None
    eps = np.finfo(z.dtype).eps
    z64 = np.asarray(z, np.float64)
    sigma = np.exp(-np.logaddexp(0.0, -z64))  # σ(z) without overflow
    gap = np.abs(sigma - np.asarray(target, np.float64))
    if not np.all(gap < eps):
        return None
    worst = int(np.argmax(np.abs(z64)))
    zs, ys = z64.flat[worst], float(np.asarray(target).flat[worst])
    other = 0 if ys >= 0.5 else 1
    return (
        f"saturated: σ({zs:.3g}) ≈ y = {ys:g}, gradients ~{float(gap.max()):.0e}: try smaller "
        f"weights, --target {other}, --dtype float64"
    )


def _times(factor: int, name: str) -> str:
    """``2i``, or just ``i`` for a unit factor (as a student writes the index)."""
    return name if factor == 1 else f"{factor}{name}"


def _alt(layer_out, name: str) -> dict[str, np.ndarray]:
    return {} if layer_out is None else {name: layer_out}


def _bug_note(layer) -> str:
    """With --bug: which bug the layer carries (and a layout repair, if the pipeline made one)."""
    bug = getattr(layer, "bug", None)
    if bug is None:
        return ""
    return f"  [bug {bug.id}" + (f"; {layer.layout_note}]" if layer.layout_note else "]")


def pool_input(trace: Trace) -> str:
    """The stage pooling reads: ``act.out`` with an activation, else ``conv.out``."""
    return "act.out" if "act.out" in trace else "conv.out"


# Overflow is detected and refused stage by stage (Trace.add), so numpy's warnings about it
# would only be noise on the terminal.
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def run_pipeline(scenario: Scenario, backward: bool = True, net: Network | None = None) -> Trace:
    """Run forward (and backward) and return the Trace of every stage, without reference."""
    s = scenario
    net = net or Network(s)
    trace = Trace(scenario=s, dtype=s.dtype)
    add = trace.add
    x = s.x
    add(Stage("input", "Input image x", x, "x: (N, C, H, W) = " + "×".join(map(str, x.shape))))
    add(Stage("conv.weight", "Conv filters W", s.conv_weight, "W: (F, C, kh, kw)"))
    add(Stage("conv.bias", "Conv bias b", s.conv_bias, "b: (F,)"))
    (pt, pb), (pl, pr) = s.pads
    if pt or pb or pl or pr:
        add(
            Stage(
                "conv.padded",
                "Zero-padded input",
                pad_input(x, s.pads),
                f"pad top {pt}, bottom {pb}, left {pl}, right {pr}  ({s.padding!r})",
            )
        )

    conv_out = net.conv.forward(x)
    loop_out = net.alt_conv.forward(x) if net.alt_conv else None
    if net.conv.method == "im2col":
        kh, kw = s.kernel
        add(
            Stage(
                "conv.cols",
                "im2col: receptive fields as columns X_col",
                net.conv.cols,
                f"X_col[n, c·{kh * kw} + {_times(kw, 'u')} + v, {_times(conv_out.shape[3], 'i')}"
                f" + j] = x_pad[n, c, {_times(s.stride[0], 'i')} + {_times(s.dilation[0], 'u')}, "
                f"{_times(s.stride[1], 'j')} + {_times(s.dilation[1], 'v')}]",
            )
        )
        add(
            Stage(
                "conv.weight_rows",
                "Filters as rows W_row",
                net.conv.weight_rows,
                "W_row = W.reshape(F, C·kh·kw)",
            )
        )
    add(
        Stage(
            "conv.out",
            "Convolution output H",
            conv_out,
            formulas.conv_out(s) + _bug_note(net.conv),
            alternatives=_alt(loop_out, "loop"),
        )
    )

    a = net.conv.nchw(conv_out) if s.bug else conv_out
    if net.act:
        a = net.act.forward(a)
        add(Stage("act.out", "ReLU activation A", a, "A = max(H, 0)"))
    p = a
    if net.pool:
        p = net.pool.forward(a)
        kind = "Max" if s.pool == "max" else "Average"
        add(
            Stage(
                "pool.cols",
                f"{kind}-pool windows as columns",
                net.pool.cols,
                "windows: (N, C, kh·kw, L), one column per pooling window",
            )
        )
        if s.pool == "max":
            add(
                Stage(
                    "pool.argmax",
                    "Chosen cell of each window (row-major index u·kw + v)",
                    net.pool.argmax,
                    "argmax over each window (first maximum on ties)",
                )
            )
        add(
            Stage(
                "pool.out",
                f"{kind}-pooled P",
                p,
                formulas.pool_out(s, conv_out.shape[2:]),
                meta={"argmax": getattr(net.pool, "argmax", None)},
            )
        )
    f = net.flatten.forward(p)
    add(Stage("flatten.out", "Flattened features", f, "f = P.reshape(N, C·H·W)"))
    z = net.fc.forward(f)
    add(Stage("fc.out", "Logits z", z, "z = f @ W_fcᵀ + b_fc"))
    loss = net.loss.forward(z, s.target)
    add(
        Stage(
            "loss",
            f"Loss ({s.loss})",
            np.asarray(loss, dtype=z.dtype),
            formulas.LOSS_FORMULAS[s.loss],
            meta={"target": s.target, "saturated": saturation_note(z, s.target, s.loss)},
        )
    )
    if backward:
        _backward(trace, net, s)
    for stage in trace:
        axes = STAGE_AXES.get(stage.name.removeprefix("grad."))
        stage.axes = axes if axes is not None and len(axes) == len(stage.shape) else None
    return trace


def _backward(trace: Trace, net: Network, s: Scenario) -> None:
    add = trace.add
    dz = net.loss.backward()
    add(Stage("grad.fc.out", "∂L/∂z", dz, formulas.LOSS_GRADIENTS[s.loss]))
    dw_fc, df = net.fc.backward(dz)
    add(Stage("grad.fc.weight", "∂L/∂W_fc", dw_fc, "∂L/∂W_fc = (∂L/∂z)ᵀ @ f"))
    add(Stage("grad.fc.bias", "∂L/∂b_fc", net.fc.grad_bias, "∂L/∂b_fc = Σ_n ∂L/∂z[n]"))
    add(Stage("grad.flatten.out", "∂L/∂f", df, "∂L/∂f = ∂L/∂z @ W_fc"))
    dp = net.flatten.backward(df)
    da = dp
    if net.pool:
        add(Stage("grad.pool.out", "∂L/∂P", dp, "∂L/∂P = (∂L/∂f).reshape(P.shape)"))
        da = net.pool.backward(dp)
        how = (
            "∂L/∂P goes to the window's argmax, 0 elsewhere"
            if s.pool == "max"
            else "∂L/∂P / (kh·kw) to every cell of the window"
        )
        add(Stage("grad.pool.cols", "∂L/∂(pool windows)", net.pool.grad_cols, how))
    dh = da
    if net.act:
        add(Stage("grad.act.out", "∂L/∂A", da, "from the pooling backward (col2im of windows)"))
        dh = net.act.backward(da)
    source = "∂L/∂A · [H > 0]" if net.act else "col2im of the window gradients (overlaps add)"
    add(Stage("grad.conv.out", "∂L/∂H", dh, source if net.pool or net.act else "∂L/∂H"))
    dw, dx = net.conv.backward(dh)
    alt = net.alt_conv
    alt_dw, alt_dx = alt.backward(dh) if alt else (None, None)
    add(
        Stage(
            "grad.conv.weight",
            "∂L/∂W",
            dw,
            "∂L/∂W_row = Σ_n ∂L/∂H[n] @ X_col[n]ᵀ",
            alternatives=_alt(alt_dw, "loop"),
        )
    )
    add(
        Stage(
            "grad.conv.bias",
            "∂L/∂b",
            net.conv.grad_bias,
            "∂L/∂b[f] = Σ_{n,i,j} ∂L/∂H[n,f,i,j]",
            alternatives=_alt(alt.grad_bias if alt else None, "loop"),
        )
    )
    if net.conv.method == "im2col":
        add(Stage("grad.conv.cols", "∂L/∂X_col", net.conv.grad_cols, "∂L/∂X_col = W_rowᵀ @ ∂L/∂H"))
    add(
        Stage(
            "grad.input",
            "∂L/∂x",
            dx,
            "∂L/∂x = col2im(∂L/∂X_col) (overlapping windows add)",
            alternatives=_alt(alt_dx, "loop"),
        )
    )
