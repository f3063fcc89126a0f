"""Options shared by several commands, defined once.

Typer reads a command's options from its signature. ``extend_signature`` appends a group of
shared parameters to a command's own and converts their values before the call:
``scenario_options`` hands the command one ``ScenarioSpec``, ``output_options`` one
``OutputOptions``, and ``guarded`` (in errors.py) adds ``--debug`` and turns errors into exit
codes (2 for a ConvtraceError with its one-line reason, 1 for anything unexpected). Typer
passes every parameter by keyword, which is what the wrappers rely on.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Annotated

import typer

from ..scenario.spec import DEFAULT_MAX_ELEMENTS, ScenarioSpec

NETWORK = "Network (generated from --seed unless files are given)"
FILES = "Your own numbers (files)"
LAYERS = "Layers"
NUMERICS = "Numerics"
OUTPUT = "Output"


def option(name: str, annotation, default, *flags: str, help: str, panel: str, **extra):
    """A keyword parameter carrying its typer.Option, to add to a command's signature."""
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[
            annotation, typer.Option(*flags, help=help, rich_help_panel=panel, **extra)
        ],
    )


def extend_signature(command: Callable, extra: list[inspect.Parameter], convert: Callable):
    """Wrap ``command`` so Typer also sees ``extra``; ``convert(values_of_extra) -> kwargs``."""
    signature = inspect.signature(command)
    hints = typing.get_type_hints(command, include_extras=True)
    names = {p.name for p in extra}
    converted = set(inspect.signature(convert).parameters) - {"values"}
    own = [
        p.replace(annotation=hints.get(name, p.annotation), kind=inspect.Parameter.KEYWORD_ONLY)
        for name, p in signature.parameters.items()
        if name not in converted
    ]
    own.sort(key=lambda p: p.default is not inspect.Parameter.empty)

    @functools.wraps(command)
    def wrapper(**kwargs):
        values = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
        return command(**kwargs, **convert(values))

    params = own + extra
    wrapper.__signature__ = signature.replace(parameters=params, return_annotation=None)
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__
    return wrapper


# --------------------------------------------------------------------------- scenario
SCENARIO_PARAMS: list[inspect.Parameter] = [
    option(
        "seed",
        int,
        42,
        "--seed",
        panel=NETWORK,
        help="Seed of torch's generator, which draws every generated tensor.",
    ),
    option("batch", int, 1, "--batch", "-n", help="Samples N in the batch.", panel=NETWORK),
    option("channels", int, 1, "--channels", "-c", help="Input channels C.", panel=NETWORK),
    option(
        "size",
        int | None,
        None,
        "--size",
        help="Square input: H = W = SIZE.",
        panel=NETWORK,
        show_default="6",
    ),
    option(
        "height",
        int | None,
        None,
        "--height",
        help="Input height H (overrides --size).",
        panel=NETWORK,
    ),
    option(
        "width",
        int | None,
        None,
        "--width",
        help="Input width W (overrides --size).",
        panel=NETWORK,
    ),
    option(
        "net",
        str | None,
        None,
        "--net",
        metavar="SPEC",
        panel=LAYERS,
        help='A whole network, in quotes: e.g. "conv(4,3) relu maxpool(2) conv(8,3,stride=2,'
        'padding=same) relu avgpool(2) fc(10)". Kinds: conv(filters, kernel, stride=1, '
        "padding=valid, dilation=1), relu, maxpool(size, stride=size), avgpool(size, "
        "stride=size), flatten (implied before the first fc), fc(out), bn(eps=1e-5, "
        "momentum=0.1), convT(filters, kernel, stride=1, padding=0, output_padding=0, "
        "dilation=1). Replaces the single-layer options below.",
    ),
    option("filters", int, 2, "--filters", "-f", help="Conv filters F.", panel=LAYERS),
    option("kernel", int, 3, "--kernel", "-k", help="Conv kernel size (square).", panel=LAYERS),
    option("stride", int, 1, "--stride", "-s", help="Conv stride.", panel=LAYERS),
    option(
        "padding",
        str,
        "valid",
        "--padding",
        "-p",
        metavar="valid|same|N|H,W",
        panel=LAYERS,
        help="'same' keeps ceil(size / stride), for every stride; N pads every side by N, "
        "H,W the top/bottom by H and left/right by W.",
    ),
    option(
        "dilation",
        int,
        1,
        "--dilation",
        "-d",
        help="Conv dilation (gap between taps).",
        panel=LAYERS,
    ),
    option(
        "activation",
        str,
        "none",
        "--activation",
        metavar="none|relu",
        help="After the conv.",
        panel=LAYERS,
    ),
    option(
        "pool", str, "max", "--pool", metavar="max|avg|none", help="Pooling kind.", panel=LAYERS
    ),
    option("pool_size", int, 2, "--pool-size", help="Pooling window (square).", panel=LAYERS),
    option(
        "pool_stride",
        int | None,
        None,
        "--pool-stride",
        panel=LAYERS,
        help="Pooling stride.",
        show_default="the pool size",
    ),
    option(
        "loss",
        str,
        "bce",
        "--loss",
        metavar="bce|mse|ce",
        help="Binary cross-entropy, mean squared error, or cross-entropy over --classes.",
        panel=LAYERS,
    ),
    option("classes", int, 3, "--classes", help="Classes for --loss ce.", panel=LAYERS),
    option(
        "bn_mode",
        str,
        "train",
        "--bn-mode",
        metavar="train|eval",
        panel=LAYERS,
        help="How a bn layer of --net normalises: train (the batch's mean and variance) or "
        "eval (the running statistics from --weights, else 0 and 1), as torch's "
        "module.train()/eval().",
    ),
    option(
        "bug",
        str | None,
        None,
        "--bug",
        metavar="ID",
        panel=LAYERS,
        help="Plant a classic student bug into the conv layer to watch where the stages go "
        "red (ids: convtrace check --list-bugs).",
    ),
    option(
        "method",
        str,
        "both",
        "--method",
        "-m",
        metavar="loop|im2col|both",
        panel=NUMERICS,
        help="How the convolution is computed by hand (both: the loops checked against im2col).",
    ),
    option(
        "dtype",
        str,
        "float32",
        "--dtype",
        metavar="float32|float64",
        help="Floating-point type of every tensor.",
        panel=NUMERICS,
    ),
    option(
        "max_elements",
        int,
        DEFAULT_MAX_ELEMENTS,
        "--max-elements",
        panel=NUMERICS,
        help="Refuse a run whose biggest tensor (input, padded input, im2col matrix, conv "
        "output) would hold more numbers than this.",
    ),
    option(
        "input",
        str | None,
        None,
        "--input",
        "-i",
        metavar="FILE",
        panel=FILES,
        help="Input image: .npy, .npz, .pt/.pth, .json or .csv/.txt; (H, W), (C, H, W) or "
        "(N, C, H, W); or a picture .png/.jpg/.bmp/.gif (greyscale unless --rgb). Its shape "
        "sets N, C, H and W.",
    ),
    option(
        "rgb",
        bool,
        False,
        "--rgb",
        panel=FILES,
        help="A picture --input as three channels (R, G, B) instead of greyscale.",
    ),
    option(
        "resize",
        str | None,
        None,
        "--resize",
        metavar="N|HxW",
        panel=FILES,
        help="Resize a picture --input to N×N or H×W pixels (bilinear).",
    ),
    option(
        "normalize",
        bool,
        False,
        "--normalize",
        panel=FILES,
        help="A picture --input's values divided by 255 (to [0, 1]); default: whole numbers 0–255.",
    ),
    option(
        "weights",
        str | None,
        None,
        "--weights",
        "-w",
        metavar="FILE",
        panel=FILES,
        help="Weights: .npz, .pt state dict or .json with any of conv.weight, conv.bias, "
        "fc.weight, fc.bias; the others come from --seed.",
    ),
    option(
        "target",
        str | None,
        None,
        "--target",
        "-y",
        metavar="VALUE|FILE",
        panel=FILES,
        help="Target: a number, comma-separated numbers, or a file (class indices for ce).",
    ),
    option(
        "scenario",
        str | None,
        None,
        "--scenario",
        metavar="FILE.toml",
        panel=FILES,
        help="Every run option from a TOML file (paths relative to it); flags override it. "
        "See examples/.",
    ),
]


# Typer passes the click context to a parameter annotated typer.Context: it tells which
# options were typed on the command line (those override a --scenario file).
CONTEXT_PARAM = inspect.Parameter(
    "scenario_ctx", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=typer.Context
)


def spec_from_options(values: dict, ctx=None) -> ScenarioSpec:
    """The shared options' values as a ScenarioSpec, merged with --scenario and with the
    arrays of --input/--weights/--target loaded. Shapes are validated once, when the Scenario
    is built; files are judged as they are read."""
    from ..scenario.toml_file import spec_from_values

    explicit = None
    if ctx is not None:
        explicit = {
            name
            for name in values
            if (source := ctx.get_parameter_source(name)) is not None
            and source.name not in ("DEFAULT", "DEFAULT_MAP")
        }
    return spec_from_values(values, explicit)


def scenario_options(command: Callable) -> Callable:
    """Give ``command(spec: ScenarioSpec, ...)`` every shared scenario option."""

    def convert(values, spec=None):
        ctx = values.pop("scenario_ctx", None)
        return {"spec": spec_from_options(values, ctx)}

    return extend_signature(command, [*SCENARIO_PARAMS, CONTEXT_PARAM], convert)
