"""The planted bugs: classic Conv2D mistakes, each a deliberately broken variant of the layer.

They live below tracing/ and scenario/ because ``convtrace run --bug ID`` plants them into the
pipeline; ``convtrace check`` (``check/catalog.py``) uses the same entries to name a student's
mistake.

Every bug has a stable id, one sentence saying what the code does, and the fix. A bug is one
or more *variants*: option sets of the one loop implementation below (``conv_forward`` /
``conv_backward``), which with no options is the correct convolution (checked against torch by
the tests). ``convtrace check`` runs every variant on the case a student got wrong and names the
bug whose variant produced the student's numbers; ``BuggyConv2D`` plants a bug into the
pipeline for ``convtrace run --bug ID``.

Shapes: x: (N, C, H, W), w: (F, C, kh, kw), b: (F,), dout = dL/dO: (N, F, H_out, W_out).
Correct formulas (cross-correlation, torch's)::

    O[n,f,i,j]  = b[f] + sum_{c,u,v} w[f,c,u,v] * x_pad[n,c, i*s+u, j*s+v]
    dW[f,c,u,v] = sum_{n,i,j} dout[n,f,i,j] * x_pad[n,c, i*s+u, j*s+v]
    db[f]       = sum_{n,i,j} dout[n,f,i,j]
    dx_pad[n,c, i*s+u, j*s+v] += dout[n,f,i,j] * w[f,c,u,v];   dx = dx_pad without its border
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...i18n import N_, Msg, _
from ..errors import ParameterError
from ..geometry import conv_output_shape, resolve_padding
from .conv import Conv2D

Pads = tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class Variant:
    """One way of making the mistake: options of ``conv_forward``/``conv_backward`` plus the
    layout changes (``channels_last``: O returned as (N, H, W, F); ``swapped``: backward
    returns (dX, dF); ``pads``: how "same" is (wrongly) resolved)."""

    name: str
    flip: bool = False
    stride_in_window: bool = True
    unit_stride: bool = False  # the stride ignored everywhere, output size included
    pads: str = "right"  # "right" | "half-kernel" | "odd-first"
    crop: bool = True
    accumulate: str = "add"  # "add" | "overwrite" | "overwrite-sum-filters"
    batch: str = "sum"  # "sum" | "first" | "last" | "mean"
    channels_last: bool = False
    swapped: bool = False
    reinitialise: bool = False


@dataclass(frozen=True)
class Needs:
    """What a scenario must have for ``run --bug`` to show the bug (its variant to change a
    value): ``what`` in words, and the options that give it, as classroom flags (``flags``)
    and as a --net conv (``net``). Whether a scenario has it is judged by :func:`reveals`."""

    what: str
    flags: str
    net: str


@dataclass(frozen=True)
class Bug:
    id: str
    sentence: str
    fix: str
    variants: tuple[Variant, ...] = field(default_factory=tuple)
    needs: Needs | None = None  # None: every scenario shows it


CATALOG: tuple[Bug, ...] = (
    Bug(
        "kernel-flipped",
        N_(
            "The kernel is flipped (a true convolution), but deep-learning frameworks compute a "
            "cross-correlation."
        ),
        N_("Multiply x_pad[n, c, i*s+u, j*s+v] by W[f, c, u, v] as it is: no W[::-1, ::-1]."),
        (Variant("flipped", flip=True),),
    ),
    Bug(
        "stride-ignored",
        N_(
            "The window start is not multiplied by the stride (i instead of i*s), in the forward "
            "or the backward pass."
        ),
        N_(
            "Start the window of output (i, j) at row i*stride and column j*stride, in forward and "
            "backward alike."
        ),
        (
            Variant("window at i, j", stride_in_window=False),
            Variant("stride 1 throughout", unit_stride=True),
        ),
        Needs(N_("--stride 2 or more"), "--stride 2 --size 7", "conv(2,3,stride=2)"),
    ),
    Bug(
        "same-padding-symmetric",
        N_(
            '"same" padding is split evenly (or taken as (k-1)/2), but the TensorFlow rule pads '
            "the odd pixel bottom/right and needs more padding when stride > 1."
        ),
        N_(
            "total = max((ceil(H/s) - 1)*s + k - H, 0); top = total // 2, bottom = total - top "
            "(likewise left/right)."
        ),
        (  # the first keeps the output's shape, so `run --bug` can go on past the conv
            Variant("odd pixel top/left", pads="odd-first"),
            Variant("(k-1)//2 on every side", pads="half-kernel"),
        ),
        Needs(
            N_("--padding same with an odd amount of padding (an even kernel)"),
            "--padding same --kernel 2",
            "conv(2,2,padding=same)",
        ),
    ),
    Bug(
        "padding-not-removed",
        N_("dX still holds the padded border: it has the padded input's shape."),
        N_("Return dx_pad[:, :, top:top+H, left:left+W], the part that covers the real input."),
        (Variant("padded dX", crop=False),),
        Needs(N_("padding"), "--padding 1", "conv(2,3,padding=1)"),
    ),
    Bug(
        "overwrite-not-accumulate",
        N_(
            "dX windows are assigned with = instead of added, so overlapping windows (and filters) "
            "overwrite each other."
        ),
        N_("Accumulate: dX[n, :, rows, cols] += dout[n, f, i, j] * W[f]."),
        (
            Variant("= over windows and filters", accumulate="overwrite"),
            Variant("= over windows, filters summed", accumulate="overwrite-sum-filters"),
        ),
        Needs(
            N_("overlapping windows (a stride smaller than the kernel) or 2 filters or more"),
            "--stride 1",
            "conv(2,3)",
        ),
    ),
    Bug(
        "grad-not-summed-over-batch",
        N_("dF or db comes from one sample (or is the mean) instead of the sum over the batch."),
        N_(
            "Sum the contributions of every sample n: dW += ..., db += ... inside the loop over n, "
            "without dividing by N."
        ),
        (
            Variant("first sample only", batch="first"),
            Variant("last sample only", batch="last"),
            Variant("mean over the batch", batch="mean"),
        ),
        Needs(N_("a batch of 2 or more"), "--batch 2", "--batch 2"),
    ),
    Bug(
        "channels-last-output",
        N_("The output is laid out (N, H, W, F) instead of (N, F, H, W)."),
        N_("Allocate O = np.zeros((N, F, H_out, W_out)) and write O[n, f, i, j]."),
        (Variant("O as (N, H, W, F)", channels_last=True),),
    ),
    Bug(
        "dF-dX-swapped",
        N_("backward returns (dL/dX, dL/dF): the two gradients in the other order."),
        N_("return dLdF, dLdX  (the filter gradient first)."),
        (Variant("returns (dX, dF)", swapped=True),),
    ),
    Bug(
        "weights-reinitialised",
        N_("forward draws new weights every call, so the weights you set (or trained) are lost."),
        N_("Create the weights once (in __init__, or in forward only when they are still None)."),
        (Variant("new weights per forward", reinitialise=True),),
    ),
)

BUGS = {bug.id: bug for bug in CATALOG}


def get_bug(bug_id: str) -> Bug:
    """The catalog entry for ``bug_id``, or a ParameterError listing the ids."""
    try:
        return BUGS[bug_id]
    except KeyError:
        raise ParameterError(
            _("--bug {bug_id!r} is not in the catalog; ids: {BUGS}").format(
                bug_id=bug_id, BUGS=", ".join(BUGS)
            )
        ) from None


def reveals(bug_id: str, options: dict, in_shape, forward_only: bool = False) -> bool:
    """Whether the bug changes any value of a conv with ``options`` (its constructor's) on an
    input of ``in_shape``: its output (layout included), or (unless ``forward_only``) any of
    its gradients. Judged on
    random numbers of that geometry, so only the geometry decides (a redrawn weight always
    shows)."""
    from .conv import Conv

    variant = get_bug(bug_id).variants[0]
    if variant.reinitialise:
        return True
    rng = np.random.default_rng(0)
    x = rng.standard_normal(tuple(in_shape))
    options = {k: v for k, v in options.items() if k not in ("method", "dilation")}
    clean, buggy = Conv(**options, method="loop"), BuggyConv(bug_id, **options)
    weight = rng.standard_normal((clean.filters, x.shape[1], *clean.kernel_size))
    bias = rng.standard_normal(clean.filters)
    for layer in (clean, buggy):
        layer.set_params(weight=weight, bias=bias)

    def differ(a, b) -> bool:  # float64 sums in two orders: equal up to rounding
        return a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-12)

    out, wrong = clean.forward(x), buggy.forward(x)
    if differ(out, wrong) or forward_only:
        return differ(out, wrong)
    dout = rng.standard_normal(out.shape)
    dx, wrong_dx = clean.backward(dout), buggy.backward(dout)
    pairs = [(dx, wrong_dx)] + [(clean.grads[k], buggy.grads[k]) for k in ("weight", "bias")]
    return any(differ(a, b) for a, b in pairs)


def shows_in_run(bug_id: str, options: dict, x, weight, bias, dout=None) -> bool:
    """Whether the bug changes the conv's output or (given ``dout``) its gradients for these
    very numbers: a geometry that can reveal it may still hide it (a weight of 0, a gradient
    that is all 0 where the loss saturates, one max-pool cell per window for overlapping
    writes)."""
    from .conv import Conv

    if get_bug(bug_id).variants[0].reinitialise:
        return True
    options = {k: v for k, v in options.items() if k not in ("method", "dilation")}
    x, weight, bias = (np.asarray(a, np.float64) for a in (x, weight, bias))
    dout = None if dout is None else np.asarray(dout, np.float64)
    right, wrong = (
        _conv_run(Conv(**options, method="loop"), x, weight, bias, dout),
        _conv_run(BuggyConv(bug_id, **options), x, weight, bias, dout),
    )
    # Σ|terms| of every right value: a change below 0.1% of it is rounding, not the mistake
    size = _conv_run(Conv(**options, method="loop"), np.abs(x), np.abs(weight), np.abs(bias),
                     None if dout is None else np.abs(dout))  # fmt: skip
    return any(_visibly_different(*arrays) for arrays in zip(right, wrong, size, strict=True))


def _conv_run(layer, x, weight, bias, dout) -> list[np.ndarray]:
    """[output, and with ``dout``: dx, dW, db] of ``layer`` on these numbers."""
    layer.set_params(weight=weight, bias=bias)
    out = [layer.forward(x)]
    if dout is not None:
        out.append(layer.backward(dout))
        out += [layer.grads["weight"], layer.grads["bias"]]
    return out


def _visibly_different(right: np.ndarray, wrong: np.ndarray, size: np.ndarray) -> bool:
    """Another shape, or a change of more than 0.1% of the largest Σ|terms|: what a verdict
    can tell from rounding, whatever the dtype."""
    if right.shape != wrong.shape:
        return True
    scale = float(size.max()) if size.size else 0.0
    return bool(np.any(np.abs(wrong - right) > 1e-3 * scale))


def hidden_bug_message(bug_id: str, net: bool) -> str:
    """``--bug stride-ignored needs --stride 2 or more: try --stride 2 --size 7``."""
    needs = get_bug(bug_id).needs
    if needs is None:  # pragma: no cover - every bug without needs shows everywhere
        return _("--bug {id} changes no value in this scenario").format(id=bug_id)
    return _("--bug {id} needs {what}: try {hint}").format(
        id=bug_id, what=_(needs.what), hint=needs.net if net else needs.flags
    )


def variant_pads(variant: Variant, padding, x_hw, kernel, stride) -> Pads:
    """The padding the variant uses: the right one, or a wrong "same" resolution."""
    pads = resolve_padding(padding, x_hw, kernel, stride)
    if not (isinstance(padding, str) and padding.strip().lower() == "same"):
        return pads
    if variant.pads == "half-kernel":
        return tuple(((k - 1) // 2, (k - 1) // 2) for k in kernel)
    if variant.pads == "odd-first":
        return tuple((after, before) for before, after in pads)
    return pads


def _windows(out_hw, stride, variant: Variant):
    """(i, j, row start, column start) of every output position."""
    sh, sw = stride if variant.stride_in_window else (1, 1)
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            yield i, j, i * sh, j * sw


def conv_forward(x, w, b, stride, pads: Pads, variant: Variant = Variant("correct")):
    """O: (N, F, H_out, W_out) (or (N, H_out, W_out, F) for ``channels_last``)."""
    stride = (1, 1) if variant.unit_stride else stride
    (pt, pb), (pl, pr) = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    kh, kw = w.shape[2:]
    wk = w[:, :, ::-1, ::-1] if variant.flip else w
    out_hw = conv_output_shape(x.shape[2:], (kh, kw), stride, pads)
    out = np.empty((x.shape[0], w.shape[0], *out_hw), dtype=np.result_type(x, w))
    for i, j, r, q in _windows(out_hw, stride, variant):
        out[:, :, i, j] = np.einsum("nchw,fchw->nf", xp[:, :, r : r + kh, q : q + kw], wk) + b
    return out.transpose(0, 2, 3, 1) if variant.channels_last else out


def conv_backward(x, w, dout, stride, pads: Pads, variant: Variant = Variant("correct")):
    """(dW: (F, C, kh, kw), db: (F,), dX: (N, C, H, W)) for dout: (N, F, H_out, W_out).

    ``swapped`` is applied by the caller (it is about the order of the returned values).
    """
    stride = (1, 1) if variant.unit_stride else stride
    (pt, pb), (pl, pr) = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    kh, kw = w.shape[2:]
    wk = w[:, :, ::-1, ::-1] if variant.flip else w
    dxp = np.zeros_like(xp)
    per_sample_dw = np.zeros((x.shape[0], *w.shape), dtype=xp.dtype)
    for i, j, r, q in _windows(dout.shape[2:], stride, variant):
        g = dout[:, :, i, j]  # (N, F)
        field_ = xp[:, :, r : r + kh, q : q + kw]  # (N, C, kh, kw)
        per_sample_dw += np.einsum("nf,nchw->nfchw", g, field_)
        contribution = np.einsum("nf,fchw->nchw", g, wk)
        if variant.accumulate == "add":
            dxp[:, :, r : r + kh, q : q + kw] += contribution
        elif variant.accumulate == "overwrite-sum-filters":
            dxp[:, :, r : r + kh, q : q + kw] = contribution
        else:  # loop over f inside: the last filter's write wins
            dxp[:, :, r : r + kh, q : q + kw] = np.einsum("n,chw->nchw", g[:, -1], wk[-1])
    if variant.flip:
        per_sample_dw = per_sample_dw[..., ::-1, ::-1]
    per_sample_db = dout.sum(axis=(2, 3))
    pick = {
        "sum": lambda a: a.sum(axis=0),
        "first": lambda a: a[0],
        "last": lambda a: a[-1],
        "mean": lambda a: a.mean(axis=0),
    }[variant.batch]
    dw, db = np.ascontiguousarray(pick(per_sample_dw)), pick(per_sample_db)
    dx = dxp if not variant.crop else dxp[:, :, pt : pt + x.shape[2], pl : pl + x.shape[3]]
    return dw, db, np.ascontiguousarray(dx)


class BuggyConv2D(Conv2D):
    """Conv2D with one catalog bug planted (its first variant), for ``convtrace run --bug``.

    Same API as Conv2D(method="loop"): ``forward(x) -> O``, ``backward(dout) -> (dW, dX)``
    (``(dX, dW)`` for dF-dX-swapped), ``grad_weight``, ``grad_bias``. ``nchw(O)`` turns the
    output back into (N, F, H, W) so the next layer still runs; ``layout_note`` says so.
    """

    def __init__(self, bug_id: str, *args, **kwargs):
        kwargs["method"] = "loop"
        super().__init__(*args, **kwargs)
        self.bug = get_bug(bug_id)
        self.variant = self.bug.variants[0]
        self._draws = np.random.default_rng(0)

    @property
    def layout_note(self) -> str:
        if self.variant.channels_last:
            return N_("O came back as (N, H, W, F); moved to (N, F, H, W) for the next layer")
        return ""

    def nchw(self, out: np.ndarray) -> np.ndarray:
        return out.transpose(0, 3, 1, 2) if self.variant.channels_last else out

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if self.variant.reinitialise:  # the bug: a fresh draw on every call
            c, (kh, kw) = x.shape[1], self.kernel_size
            bound = 1.0 / np.sqrt(c * kh * kw)
            shape = (self.filters, c, kh, kw)
            self.weight = self._draws.uniform(-bound, bound, shape).astype(x.dtype)
        self._init_parameters(x.shape[1])
        self.pads = variant_pads(
            self.variant, self.padding, x.shape[2:], self.kernel_size, self.stride
        )
        w, b = self.weight.astype(x.dtype), self.bias.astype(x.dtype)
        out = conv_forward(x, w, b, self.stride, self.pads, self.variant)
        self._cache = (x, w, out.shape)
        return out

    def backward(self, dout: np.ndarray):
        x, w, out_shape = self._cache
        dout = np.asarray(dout)
        if self.variant.channels_last and dout.shape == out_shape:
            dout = self.nchw(dout)  # given in the layout forward returned
        dw, db, dx = conv_backward(x, w, dout, self.stride, self.pads, self.variant)
        self.grad_weight, self.grad_bias = dw, db
        return (dx, dw) if self.variant.swapped else (dw, dx)


class BuggyConv(BuggyConv2D):
    """BuggyConv2D as a network layer (``run --bug``): ``backward(dout) -> dx``, where dx is the
    second array the bug returns and the first is recorded as the weight gradient (so a
    swapped return shows up in the stages where a student's network would put it)."""

    def backward(self, dout: np.ndarray) -> np.ndarray:
        first, second = BuggyConv2D.backward(self, dout)
        self.grads = {"weight": first, "bias": self.grad_bias}
        return second

    def next_input(self, out: np.ndarray) -> np.ndarray:
        return self.nchw(out)

    def out_note(self) -> str:
        note = Msg("; {note}]", _raw=True, note=Msg(self.layout_note)) if self.layout_note else "]"
        return Msg("  [bug {id}", _raw=True, id=self.bug.id) + note
