"""Rich views of ``convtrace explain`` for sums that are not windows over an image: a fully
connected layer's output and gradients (two vectors side by side), the loss (each averaged term
with its numbers) and the one-term sums of a ReLU or a flatten."""

from __future__ import annotations

import numpy as np
from rich.console import RenderableType
from rich.text import Text

from ..i18n import _, plural
from .explain_parts import SHOWN_TERMS, grid, more_terms, num, sum_line, term_lines
from .explain_parts import symbol as _sym


def fc_view(e, p: int) -> list[RenderableType]:
    """fc.out and the fc gradients: the two vectors side by side, then the terms and the sum."""
    d = e.details
    out = []
    if "row" in d:
        X, W = _sym(e, "x", "f"), _sym(e, "W", "W_fc")
        n, o = e.index
        out.append(
            Text(
                _(
                    "row {n} of {source} ({X}, {count} features) times row {o} of {W}, plus "
                    "{b}[{o}]"
                ).format(
                    n=n,
                    source=d["source"],
                    X=X,
                    count=len(e.terms),
                    o=o,
                    W=W,
                    b=_sym(e, "b", "b_fc"),
                ),
                style="ct.dim",
            )
        )
        vectors = np.stack([d["row"], d["weights"]])
        label = _("{X}[n={n}] over {W}[o={o}]").format(X=X, n=n, W=W, o=o)
        out.append(grid(vectors, p, label=label, row_labels=[X, W]))
    out += term_lines(e, p)
    out.append(sum_line(e, p))
    return out


def terms_view(e, p: int) -> list[RenderableType]:
    """Any other sum (a ReLU's mask, a flatten's move, a pool's gradient): terms and total."""
    return [*term_lines(e, p), sum_line(e, p)]


def _signed(value, p: int) -> str:
    """A number after an operator: ``(-1)``, bracketed when negative."""
    return f"({num(value, p)})" if value < 0 else num(value, p)


def loss_view(e, p: int) -> list[RenderableType]:
    """The loss: each averaged term with its numbers, then the mean."""
    d = e.details
    lines = []
    for k, t in enumerate(e.terms[:SHOWN_TERMS]):
        m = t.meta
        if d["loss"] == "ce":
            numbers = f"({num(m['lse'], p)} − {_signed(m['z_target'], p)}) / {d['count']}"
        elif d["loss"] == "mse":
            numbers = f"({num(m['z'], p)} − {_signed(m['y'], p)})² / {d['count']}"
        else:
            z = num(m["z"], p)
            numbers = (
                f"(max({z}, 0) − {_signed(m['z'], p)}·{_signed(m['y'], p)} + "
                f"log(1 + e^−|{z}|)) / {d['count']}"
            )
        line = Text(f"{k + 1:>4}. ", style="ct.dim")
        line.append(t.where, style="ct.name")
        line.append(f" = {numbers} = ")
        line.append(num(t.product, p))
        lines.append(line)
    if len(e.terms) > SHOWN_TERMS:
        lines.append(Text("      " + more_terms(len(e.terms) - SHOWN_TERMS), style="ct.dim"))
    fields = dict(source=d["source"])
    if d["loss"] == "ce":
        mean = plural(
            "mean over the {n} sample of {source} = ",
            "mean over the {n} samples of {source} = ",
            d["count"],
            **fields,
        )
    else:
        mean = plural(
            "mean over the {n} element of {source} = ",
            "mean over the {n} elements of {source} = ",
            d["count"],
            **fields,
        )
    line = Text(mean)
    line.append(num(e.value, p), style="ct.big")
    return [*lines, line]
