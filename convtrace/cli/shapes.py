"""The ``convtrace shapes`` command: a convolution's (or, with ``--transposed``, a transposed
convolution's) output-size arithmetic with the user's numbers. Registered on the app by
``main.py``; the arithmetic is in ``core/shapes.py`` and ``core/shapes_transposed.py``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..i18n import _, english
from .options import fail
from .output import (
    ColorOption,
    ExportOption,
    QuietOption,
    Report,
    ThemeOption,
    open_handout,
    styled_console,
)


def shapes_command(
    size: Annotated[int | None, typer.Option(help="Square input: H = W = SIZE.")] = None,
    height: Annotated[int | None, typer.Option(help="Input height H.")] = None,
    width: Annotated[int | None, typer.Option(help="Input width W.")] = None,
    kernel: Annotated[int, typer.Option("--kernel", "-k", help="Kernel size (square).")] = 3,
    stride: Annotated[int, typer.Option("--stride", "-s", help="Stride.")] = 1,
    padding: Annotated[str, typer.Option("--padding", "-p", help="valid | same | N | H,W.")] = (
        "valid"
    ),
    dilation: Annotated[int, typer.Option("--dilation", "-d", help="Dilation.")] = 1,
    transposed: Annotated[
        bool,
        typer.Option(
            "--transposed",
            help="A transposed convolution (convT): the input is the small map, "
            "H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1.",
        ),
    ] = False,
    output_padding: Annotated[
        int, typer.Option("--output-padding", help="With --transposed: rows added at the end.")
    ] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead.")] = False,
    color: ColorOption = "auto",
    theme: ThemeOption = "default",
    export: ExportOption = None,
    quiet: QuietOption = False,
) -> None:
    """The output-size arithmetic with your numbers: padding per side, the formula, and which
    input rows/columns a flooring stride never reads.

    [bold]Examples[/bold]

      convtrace shapes --size 7 --kernel 3 --stride 2 --padding same
      convtrace shapes --height 28 --width 20 --kernel 5 --dilation 2
      convtrace shapes --transposed --size 4 --kernel 3 --stride 2 --output-padding 1
    """
    from ..core.geometry import check_limit, positive_int
    from ..core.shapes import conv_geometry, geometry_document
    from ..scenario.spec import parse_padding

    console = styled_console(color, theme)  # bad --color/--theme/--export before any work
    handout = open_handout(export, quiet, theme)

    for value, option in ((size, "--size"), (height, "--height"), (width, "--width")):
        if value is not None:  # judged as typed, so the message names the option given
            check_limit(positive_int(value, option), option)
    if size is None and height is None and width is None:
        size = 6
    hw = (size if height is None else height, size if width is None else width)
    if None in hw:
        fail(_("give --size, or both --height and --width"))
    pad = parse_padding(padding)
    if transposed:
        _shapes_transposed(console, handout, quiet, json_out, hw, kernel, stride, pad,
                           output_padding, dilation)  # fmt: skip
        return
    if output_padding:
        fail(_("--output-padding belongs to a transposed convolution: add --transposed"))
    axes = conv_geometry(hw, kernel, stride, pad, dilation)
    if json_out:
        with english():
            typer.echo(json.dumps(geometry_document(axes, pad)))
        return
    from ..render.shapes import shapes_view

    Report(console, handout, quiet, "convtrace shapes").emit(shapes_view(axes, pad))


def _shapes_transposed(console, handout, quiet, json_out, hw, kernel, stride, pad,
                       output_padding, dilation) -> None:  # fmt: skip
    from ..core.shapes_transposed import transposed_document, transposed_geometry
    from ..render.shapes import transposed_view

    if pad == "same":
        fail(_("a transposed convolution takes --padding N or H,W (what it removes from the "
               "output), not same"))  # fmt: skip
    axes = transposed_geometry(hw, kernel, stride, 0 if pad == "valid" else pad,
                               output_padding, dilation)  # fmt: skip
    if json_out:
        with english():
            typer.echo(json.dumps(transposed_document(axes)))
        return
    Report(console, handout, quiet, "convtrace shapes").emit(transposed_view(axes))
