"""``convtrace shapes --transposed``: a transposed convolution's output-size arithmetic (the
input is the small map), with the user's numbers; called by the shapes command in ``main.py``.
The arithmetic is in ``core/shapes_transposed.py``."""

from __future__ import annotations

import json

import typer

from ..i18n import _, english
from .errors import fail
from .output import Report


def transposed_shapes(console, handout, quiet, json_out, hw, kernel, stride, pad,
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
    if handout is not None or not json_out:  # --json --export: the JSON and the handout
        Report(console, handout, quiet or json_out, "convtrace shapes").emit(transposed_view(axes))
