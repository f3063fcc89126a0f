"""The output options every trace command shares (--json, --only, --step, --color, …)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import typer

from ..core.errors import ConvtraceError
from ..i18n import _
from .options import OUTPUT, extend_signature, option


@dataclass
class OutputOptions:
    compare_torch: bool = True
    json: bool = False
    only: str | None = None
    precision: int = 4
    step: bool = False
    side_by_side: bool = False
    color: str = "auto"
    theme: str = "default"
    export: str | None = None
    quiet: bool = False


_COLOR = dict(
    metavar="auto|always|never",
    help="always: colour even into a pipe (less -R); never: no colour; auto: colour on a "
    "terminal, respecting NO_COLOR and FORCE_COLOR.",
)
_THEME = dict(
    metavar="default|high-contrast",
    help="high-contrast: no dim text, bold digits, contrast ≥ 7:1 on black and on white.",
)

OUTPUT_PARAMS = [
    option(
        "compare_torch",
        bool,
        True,
        "--compare-torch/--no-compare-torch",
        panel=OUTPUT,
        help="Compute PyTorch's values for every stage and show whether they agree.",
    ),
    option(
        "json",
        bool,
        False,
        "--json",
        panel=OUTPUT,
        help="Print one JSON document (scenario and every stage) on stdout, nothing else.",
    ),
    option(
        "only",
        str | None,
        None,
        "--only",
        metavar="PATTERN",
        panel=OUTPUT,
        help="Show only stages whose name matches a glob, e.g. 'grad.*' or 'conv.*'.",
    ),
    option(
        "precision",
        int,
        4,
        "--precision",
        help="Significant digits shown for non-whole numbers.",
        panel=OUTPUT,
        min=0,
        max=12,
    ),
    option(
        "step",
        bool,
        False,
        "--step",
        panel=OUTPUT,
        help="Projector mode: one stage per screen, fitted to the terminal; Enter/→/space "
        "next, ←/b back, g/G first/last, a number or :name then Enter jumps, q quits (when "
        "stdin and stdout are terminals).",
    ),
    option(
        "side_by_side",
        bool,
        False,
        "--side-by-side",
        panel=OUTPUT,
        help="Show ours and torch's grids even where they print identically (default: one "
        "grid labelled 'ours = torch').",
    ),
    option("color", str, "auto", "--color", panel=OUTPUT, **_COLOR),
    option("theme", str, "default", "--theme", panel=OUTPUT, **_THEME),
]

_EXPORT = dict(
    metavar="FILE",
    help="Also write the same view as a handout: FILE.html (self-contained, colours kept), "
    "FILE.svg (one image), FILE.md (Markdown) or FILE.txt (plain text); the suffix decides.",
)
_QUIET = dict(help="With --export: write only the file, print nothing on the terminal.")
EXPORT_PARAMS = [
    option("export", str | None, None, "--export", panel=OUTPUT, **_EXPORT),
    option("quiet", bool, False, "--quiet", panel=OUTPUT, **_QUIET),
]

#: ``--export`` / ``--quiet`` for commands without the other output options (explain, shapes).
ExportOption = Annotated[str | None, typer.Option("--export", rich_help_panel=OUTPUT, **_EXPORT)]
QuietOption = Annotated[bool, typer.Option("--quiet", rich_help_panel=OUTPUT, **_QUIET)]

#: ``--color`` / ``--theme`` for commands without the other output options (explain, shapes).
ColorOption = Annotated[str, typer.Option("--color", rich_help_panel=OUTPUT, **_COLOR)]
ThemeOption = Annotated[str, typer.Option("--theme", rich_help_panel=OUTPUT, **_THEME)]


def check_only_pattern(pattern: str | None, layers, extra=()) -> None:
    """Refuse an ``--only`` glob that no stage of this network matches, before anything is
    computed; a bare prefix such as ``grad`` is answered with the glob that was meant. ``extra``:
    more stage names the run will have (an SGD step's ``update.*``)."""
    import fnmatch

    from ..tracing.pipeline import stage_names

    STAGE_NAMES = stage_names(layers) + list(extra)
    if not pattern or any(fnmatch.fnmatchcase(name, pattern) for name in STAGE_NAMES):
        return
    prefixed = [name for name in STAGE_NAMES if name.startswith(pattern.rstrip(".") + ".")]
    if prefixed:
        hint = _("did you mean --only '{glob}' ({count} stages)?").format(
            glob=pattern.rstrip(".") + ".*", count=len(prefixed)
        )
    else:
        hint = _("stages are: {names}").format(names=", ".join(STAGE_NAMES))
    raise ConvtraceError(
        _("no stage matches --only {pattern!r}; {hint}").format(pattern=pattern, hint=hint)
    )


def output_options(command: Callable) -> Callable:
    """Give ``command(out: OutputOptions, ...)`` the shared output options."""

    def convert(values, out=None):
        from ..render.console import parse_color, parse_theme

        check_quiet_and_export(values["export"], values["quiet"], values["json"])
        if values["export"] is not None:  # refused before any work
            from ..render.export import check_export_path

            check_export_path(values["export"])
        values["color"] = parse_color(values["color"])
        values["theme"] = parse_theme(values["theme"])
        return {"out": OutputOptions(**values)}

    return extend_signature(command, OUTPUT_PARAMS + EXPORT_PARAMS, convert)


def spinner(message: str, quiet: bool):
    """A spinner on stderr while work runs, only when a person is watching a terminal."""
    import contextlib
    import sys

    if quiet or not sys.stderr.isatty():
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)


def check_quiet_and_export(export: str | None, quiet: bool, json: bool = False) -> None:
    """Refuse, before any work, the combinations that cannot do what they say: ``--export ''``
    (no file to write), ``--quiet`` without ``--export`` (nothing would be written) and
    ``--quiet --json`` (the JSON is printed, which --quiet promises not to do)."""
    if export is not None and not export.strip():
        raise ConvtraceError(
            _(
                "--export {value!r} names no file; give --export FILE (.html, .svg, .md or .txt)"
            ).format(value=export)
        )
    if quiet and export is None:
        raise ConvtraceError(_("--quiet writes only the --export file: give --export FILE too"))
    if quiet and json:
        raise ConvtraceError(
            _("--quiet prints nothing but --json prints the document; use one of them")
        )


def open_handout(export: str | None, quiet: bool, theme: str, json: bool = False):
    """The --export handout (checked before any work), or None; see check_quiet_and_export."""
    check_quiet_and_export(export, quiet, json)
    if export is None:
        return None
    from ..render.console import parse_theme
    from ..render.export import Handout

    return Handout(export, parse_theme(theme))


class Report:
    """Where a command's view goes: the terminal (unless --quiet, or --json has the stdout)
    and the --export handout, if any, saved under ``title``."""

    def __init__(self, console, handout, quiet: bool, title: str):
        self.console, self.handout, self.quiet, self.title = console, handout, quiet, title

    def print(self, *objects) -> None:
        if not self.quiet:
            self.console.print(*objects)
        if self.handout is not None:
            self.handout.print(*objects)

    def save(self) -> None:
        if self.handout is not None:
            self.handout.save(title=self.title)

    def emit(self, *objects) -> None:
        """Print, then save: a view that is the whole output."""
        self.print(*objects)
        self.save()
