"""Rich views of ``convtrace explain``: one number, its grids, its terms and its verdicts.

Every view reads an :class:`~convtrace.explain.Explanation` and nothing else. Marked cells carry
their mark in the text too (``[7]`` inside a window; max-pool's chosen cell is also named in
words), so the views stay readable with ``NO_COLOR``.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text

from ..i18n import _, plural
from .explain_dense import fc_view, loss_view, terms_view
from .explain_parts import grid, num, sum_line, term_lines, verdicts
from .explain_parts import symbol as _sym
from .tensors import Flow


def _padded_labels(d: dict, size_hw) -> tuple[list[int], list[int]]:
    """Input coordinates of the padded grid's rows and columns (padding gets −1, H, …)."""
    (pt, _pb), (pl, _pr) = d["pads"]
    return [r - pt for r in range(size_hw[0])], [c - pl for c in range(size_hw[1])]


def _padding_test(d: dict, shape):
    (pt, pb), (pl, pr) = d["pads"]
    h, w = shape[0] - pt - pb, shape[1] - pl - pr
    return lambda r, c: not (pt <= r < pt + h and pl <= c < pl + w)


def _conv_view(e, p: int) -> list[RenderableType]:
    d = e.details
    n, f, i, j = e.index
    (sh, sw), (dh, dw), (pt, pl) = d["stride"], d["dilation"], (d["pads"][0][0], d["pads"][1][0])
    (top, bottom), (left, right) = d["pads"]
    padding = (
        _("padding top {top} bottom {bottom} left {left} right {right}: the dim zeros").format(
            top=top, bottom=bottom, left=left, right=right
        )
        if top or bottom or left or right
        else _("no padding")
    )
    out = [
        Text(
            _(
                "output position (i={i}, j={j}) reads {x} at rows {i}·{sh} + u·{dh} − {pt} and "
                "columns {j}·{sw} + v·{dw} − {pl} for u, v = 0…{last} (stride {sh}×{sw}, "
                "dilation {dh}×{dw}, {padding}); [v] marks the window"
            ).format(
                i=i,
                j=j,
                x=_sym(e, "x", "x"),
                sh=sh,
                sw=sw,
                dh=dh,
                dw=dw,
                pt=pt,
                pl=pl,
                last=e.details["kernel"].shape[1] - 1,
                padding=padding,
            ),
            style="ct.dim",
        )
    ]
    padded = d["padded"]
    X, W = _sym(e, "x", "x"), _sym(e, "W", "W")
    rows, cols = _padded_labels(d, padded.shape[1:])
    for c in range(padded.shape[0]):
        marks = {tap: "ct.highlight" for tap in d["taps"]}
        items = [
            grid(
                padded[c],
                p,
                label=f"{X}{'_pad' if top or bottom or left or right else ''}[n={n}, c={c}]",
                marks=marks,
                row_labels=rows,
                col_labels=cols,
                dim=_padding_test(d, padded.shape[1:]),
            ),
            grid(d["kernel"][c], p, label=f"{W}[f={f}, c={c}]"),
            grid(d["products"][c], p, label=_("products {X}·{W}").format(X=X, W=W)),
        ]
        out.append(Flow(items))
    out.append(sum_line(e, p))  # the first 12 terms (the grids above show every product)
    dot = d["im2col_dot"]
    line = Text(
        _(
            "im2col: column {column} (= {i}·{w_out} + {j}) of X_col[{n}] · row {row} of W_row "
            "= {dot}, + {b}[{f}] {bias} = "
        ).format(
            column=d["column"],
            i=i,
            w_out=d["w_out"],
            j=j,
            n=n,
            row=d["row"],
            dot=num(dot, p),
            b=_sym(e, "b", "b"),
            f=f,
            bias=num(e.bias, p),
        )
    )
    line.append(num(dot + e.bias, p), style="ct.big")
    out.append(line)
    return out


def _pool_view(e, p: int) -> list[RenderableType]:
    d = e.details
    n, c, i, j = e.index
    chosen = d["chosen"]
    marks = {cell: "ct.name" for cell in d["cells"]}
    if chosen is not None:
        marks[d["cells"][chosen]] = "ct.highlight"
    (ph, pw), (sh, sw) = d["pool_size"], d["pool_stride"]
    out = [
        Text(
            _(
                "window (i={i}, j={j}): {ph}×{pw} cells from ({i}·{sh}, {j}·{sw}) of "
                "{source}[{n},{c}]; [v] marks the window"
            ).format(i=i, j=j, ph=ph, pw=pw, sh=sh, sw=sw, source=d["source"], n=n, c=c),
            style="ct.dim",
        ),
        grid(d["map"], p, label=f"{d['source']}[n={n}, c={c}]", marks=marks),
    ]
    values = ", ".join(num(t.factors[0], p) for t in e.terms)
    if chosen is not None:
        r, q = d["cells"][chosen]
        u, v = divmod(chosen, pw)
        line = Text(f"max({values}) = ")
        line.append(num(e.value, p), style="ct.big")
        ties = sum(1 for t in e.terms if t.factors[0] == e.terms[chosen].factors[0])
        line.append(
            _("; chosen: window index {chosen} (u={u}, v={v}) = {source}[{n},{c},{r},{q}]").format(
                chosen=chosen, u=u, v=v, source=d["source"], n=n, c=c, r=r, q=q
            )
            + (_(" (a tie: the first maximum wins, as in torch)") if ties > 1 else "")
        )
        out.append(line)
        if "trace_argmax" in d and d["trace_argmax"] != chosen:
            note = _("note: the trace's pool.argmax is {argmax}").format(argmax=d["trace_argmax"])
            out.append(Text(note, "ct.bad"))
        mask = Text(_("as a sum with the backward's 0/1 mask: "), style="ct.dim")
        out.append(mask + sum_line(e, p))
    else:
        line = Text(
            f"mean({values}) = ({' + '.join(num(t.factors[0], p) for t in e.terms)}) / {ph * pw} = "
        )
        line.append(num(e.value, p), style="ct.big")
        out.append(line)
    if "grad" in d:
        g = num(d["grad"], p)
        if chosen is not None:
            ((pos, _share),) = d["grad_goes"]
            text = _(
                "backward: ∂L/∂{P}[{n},{c},{i},{j}] = {g} goes entirely to {source}[{pos}]; the "
                "other {others} window cells get 0 from this window"
            ).format(
                P=_sym(e, "P", "P"),
                n=n,
                c=c,
                i=i,
                j=j,
                g=g,
                source=d["source"],
                pos=",".join(map(str, pos)),
                others=ph * pw - 1,
            )
        else:
            share = num(d["grad_goes"][0][1], p)
            text = _(
                "backward: ∂L/∂{P}[{n},{c},{i},{j}] = {g} is shared: each of the {cells} window "
                "cells gets {g}/{cells} = {share}"
            ).format(P=_sym(e, "P", "P"), n=n, c=c, i=i, j=j, g=g, cells=ph * pw, share=share)
        if d["overlapping"]:
            text += _(" (windows overlap, so a cell adds up the shares of every window holding it)")
        out.append(Text(text))
    return out


def _grad_h_grids(e, p: int, n_samples, marks=None, f=None) -> Flow:
    d = e.details
    gh = d["grad_h"]
    items = [
        grid(gh[n], p, label=f"∂L/∂{_sym(e, 'H', 'H')}[n={n}, f={f}]", marks=marks)
        for n in range(min(n_samples, 4))
    ]
    return Flow(items)


def _relu_note(e) -> list[Text]:
    if e.details.get("relu"):
        H = _sym(e, "H", "H")
        return [
            Text(
                _("∂L/∂{H} is {stage}, already multiplied by the ReLU mask [{H} > 0]").format(
                    H=H, stage=e.details.get("grad_stage", "grad.conv.out")
                ),
                style="ct.dim",
            )
        ]
    return []


def _zero_note(e) -> str:
    zero = e.details.get("zero_grad", 0)
    note = _("; ∂L/∂{H} is 0 in {zero} of them").format(H=_sym(e, "H", "H"), zero=zero)
    return note if zero else ""


def _weight_view(e, p: int) -> list[RenderableType]:
    d = e.details
    f, c, u, v = e.index
    samples = d["grad_h"].shape[0]
    padded = d["padded"][0]
    X, H = _sym(e, "x", "x"), _sym(e, "H", "H")
    rows, cols = _padded_labels(d, padded.shape)
    out = _relu_note(e) + [
        Text(
            _(
                "offset (u={u}, v={v}) of filter {f}, channel {c} meets one input element at "
                "every output position (i, j): {X}_pad[i·s + {u}·d, j·s + {v}·d]; [v] marks them"
            ).format(u=u, v=v, f=f, c=c, X=X)
            + (_(" (sample 0 shown of {samples})").format(samples=samples) if samples > 1 else ""),
            style="ct.dim",
        ),
        Flow(
            [
                grid(d["grad_h"][0], p, label=f"∂L/∂{H}[n=0, f={f}]"),
                grid(
                    padded,
                    p,
                    label=f"{X}_pad[n=0, c={c}]",
                    marks={t: "ct.highlight" for t in d["taps"]},
                    row_labels=rows,
                    col_labels=cols,
                    dim=_padding_test(d, padded.shape),
                ),
            ]
        ),
        *term_lines(e, p),
    ]
    if d["padding_terms"]:
        out.append(
            Text(
                _("{count} terms read padding ({X} = 0) and count as 0").format(
                    count=d["padding_terms"], X=X
                ),
                style="ct.dim",
            )
        )
    line = Text(
        _("sum of the {count} terms (N·H_out·W_out = {n}·{h}·{w}{zero}) = ").format(
            count=len(e.terms),
            n=samples,
            h=d["grad_h"].shape[1],
            w=d["grad_h"].shape[2],
            zero=_zero_note(e),
        )
    )
    line.append(num(e.value, p), style="ct.big")
    out.append(line)
    return out


def _bias_view(e, p: int) -> list[RenderableType]:
    (f,) = e.index
    gh = e.details["grad_h"]
    out = _relu_note(e) + [_grad_h_grids(e, p, gh.shape[0], f=f)]
    if gh.shape[0] > 4:
        out.append(Text(_("… {count} more samples").format(count=gh.shape[0] - 4), style="ct.dim"))
    out.append(sum_line(e, p, limit=16))
    out.append(
        Text(
            _("{count} terms = N·H_out·W_out = {n}·{h}·{w}{zero}").format(
                count=len(e.terms), n=gh.shape[0], h=gh.shape[1], w=gh.shape[2], zero=_zero_note(e)
            ),
            style="ct.dim",
        )
    )
    return out


def _input_view(e, p: int) -> list[RenderableType]:
    d = e.details
    n, c, r, q = e.index
    windows = d["windows"]
    X, W, H = _sym(e, "x", "x"), _sym(e, "W", "W"), _sym(e, "H", "H")
    out = _relu_note(e)
    if not windows:
        out.append(
            Text(
                _(
                    "no kernel tap lands on {X}[{n},{c},{r},{q}]: the taps i·s + u·d − p step "
                    "over it (stride, dilation) or the last partial stride is floored away; "
                    "nothing reads it, so its gradient is 0"
                ).format(X=X, n=n, c=c, r=r, q=q)
            )
        )
        return out
    where = " ".join(f"({i},{j})" for i, j in d["positions"])
    out.append(
        Text(
            plural(
                "{X}[{n},{c},{r},{q}] lies in 1 window (output positions {where}), for each of "
                "the {filters} filters: {windows}·{filters} = {terms} terms. col2im adds them "
                "all, which is why the gradients of overlapping windows accumulate.",
                "{X}[{n},{c},{r},{q}] lies in {windows} overlapping windows (output positions "
                "{where}), for each of the {filters} filters: {windows}·{filters} = {terms} "
                "terms. col2im adds them all, which is why the gradients of overlapping windows "
                "accumulate.",
                windows,
                X=X,
                n=n,
                c=c,
                r=r,
                q=q,
                where=where,
                filters=d["filters"],
                windows=windows,
                terms=len(e.terms),
            )
        )
    )
    marks = {pos: "ct.highlight" for pos in d["positions"]}
    flipped = {t.meta["flipped"] for t in e.terms}
    for f in range(min(d["filters"], 4)):
        kernel = np.rot90(d["kernels"][f], 2)
        out.append(
            Flow(
                [
                    grid(d["grad_h"][f], p, label=f"∂L/∂{H}[n={n}, f={f}]", marks=marks),
                    grid(
                        kernel,
                        p,
                        label=_("{W}[f={f}, c={c}] flipped 180°").format(W=W, f=f, c=c),
                        marks={tap: "ct.name" for tap in flipped},
                    ),
                ]
            )
        )
    if d["filters"] > 4:
        more = _("… {count} more filters").format(count=d["filters"] - 4)
        out.append(Text(more, style="ct.dim"))
    tap = _("flipped kernel tap {tap}")
    out += term_lines(e, p, note=lambda t: tap.format(tap=t.meta["flipped"]))
    out.append(
        Text(
            _(
                "the same sum is the full convolution of ∂L/∂{H} (spread out by the stride) with "
                "the kernel flipped 180°: tap (u, v) of {W} is tap (kh−1−u, kw−1−v) of the "
                "flipped kernel"
            ).format(H=H, W=W),
            style="ct.dim",
        )
    )
    line = Text(
        plural(
            "sum of {n} term{zero} = ",
            "sum of {n} terms{zero} = ",
            len(e.terms),
            zero=_zero_note_input(e),
        )  # fmt: skip
    )
    line.append(num(e.value, p), style="ct.big")
    out.append(line)
    return out


def _zero_note_input(e) -> str:
    zero = sum(1 for t in e.terms if t.product == 0)
    return plural(" ({n} is 0)", " ({n} are 0)", zero) if zero else ""


VIEWS = {
    "fc": fc_view,
    "fc_grad": fc_view,
    "loss_mse": loss_view,
    "loss_ce": loss_view,
    "loss_bce": loss_view,
    "conv": _conv_view,
    "pool": _pool_view,
    "weight_grad": _weight_view,
    "bias_grad": _bias_view,
    "input_grad": _input_view,
}


def explanation_view(e, precision: int = 4) -> RenderableType:
    """The whole explanation: title, formula, the kind's grids and terms, then the verdicts."""
    title = Text(f"{e.cell} = ", style="ct.title")
    title.append(num(e.value, precision), style="ct.big")
    parts = [title, Text(_(e.formula), style="ct.formula"), Text("")]
    parts += VIEWS.get(e.kind, terms_view)(e, precision)
    parts += [Text(""), *verdicts(e, precision)]
    return Group(*parts)
