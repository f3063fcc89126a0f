"""The optimizer's options (--lr, --momentum, --weight-decay), shared by run, backward, train
and live, and the SGD they describe."""

from __future__ import annotations

from typing import Annotated

import typer

from ..core.errors import ParameterError
from ..i18n import _

SGD_PANEL = "After the gradient (SGD)"

LrOption = Annotated[
    float | None,
    typer.Option(
        "--lr",
        metavar="η",
        rich_help_panel=SGD_PANEL,
        help="Learning rate: take one SGD step after the backward pass and show it "
        "(update.<layer>.weight/bias: W ← W − η·∂L/∂W, and update.loss, the loss after it), "
        "compared with torch.optim.SGD.",
        show_default=False,
    ),
]
MomentumOption = Annotated[
    float,
    typer.Option(
        "--momentum",
        metavar="μ",
        rich_help_panel=SGD_PANEL,
        help="SGD momentum (as torch.optim.SGD; the buffer B shows as momentum.* stages).",
    ),
]
WeightDecayOption = Annotated[
    float,
    typer.Option(
        "--weight-decay",
        metavar="λ",
        rich_help_panel=SGD_PANEL,
        help="L2 weight decay λ (λ·W added to the gradient, as torch.optim.SGD).",
    ),
]


def make_sgd(lr: float | None, momentum: float = 0.0, weight_decay: float = 0.0):
    """The SGD of the options, or None without --lr (then --momentum/--weight-decay are
    refused: they would do nothing)."""
    from ..core.optim import SGD

    if lr is None:
        given = [o for o, v in (("--momentum", momentum), ("--weight-decay", weight_decay)) if v]
        if given:
            raise ParameterError(
                _("{options} needs --lr (the learning rate of the SGD step)").format(
                    options=" and ".join(given)
                )
            )
        return None
    return SGD(lr, momentum, weight_decay)
