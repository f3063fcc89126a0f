"""``--help``: our own layout, readable at 80 and 100 columns, in the user's language.

Typer's boxed tables squeeze an option's flags, metavar and help into three columns, which at
80 columns breaks flags mid-word (``--no-compare-tor…``) and shows ``<bool>`` on every flag.
Here every option is one line of flags and metavar, its help wrapped at word boundaries
below it (or beside it when the flags are short), and the groups come in one fixed order on
every command. Headings, group names and the option texts that the catalog knows are
translated (``--lang es`` or ``LANG=es_*``).
"""

from __future__ import annotations

import enum
import inspect
import re
import textwrap

from rich.console import Console, Group
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from ..i18n import N_, _
from ..i18n_catalog import help_paragraphs

#: Option groups in the order every command shows them; options without one come last.
PANEL_ORDER = (
    N_("Arguments"),
    N_("Network (generated from --seed unless files are given)"),
    N_("Layers"),
    N_("Your own numbers (files)"),
    N_("Numerics"),
    N_("After the gradient (SGD)"),
    N_("Checking"),
    N_("Benchmark"),
    N_("Output"),
    N_("Options"),
)
#: The help text starts in this column when the flags leave room for it.
HELP_COLUMN = 28
INDENT = 2


def _metavar(param) -> str:
    """What follows the flag: its own metavar, a choice list, or the kind of number."""
    if getattr(param, "is_flag", False):
        return ""
    if param.metavar:
        return param.metavar
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "|".join(str(m.value) for m in annotation)
    minimum, maximum = getattr(param, "min", None), getattr(param, "max", None)
    if annotation is int or minimum is not None or maximum is not None:
        if minimum is not None and maximum is not None:
            return f"N ({minimum}–{maximum})"
        return f"N (≥ {minimum})" if minimum is not None else "N"
    if annotation is float:
        return "X"
    return "TEXT"


def _flags(param) -> str:
    if param.param_type_name == "argument":
        return param.metavar or param.name.upper()
    longs = [o for o in param.opts if o.startswith("--")]
    shorts = [o for o in param.opts if not o.startswith("--")]
    flags = ", ".join(shorts + longs)
    if param.secondary_opts:
        flags += " / " + ", ".join(param.secondary_opts)
    metavar = _metavar(param)
    return f"{flags} {metavar}" if metavar else flags


def _default(param) -> str | None:
    """The default as words, or None when there is none worth showing."""
    if param.param_type_name == "argument" or param.show_default is False:
        return None
    if isinstance(param.show_default, str):
        return param.show_default
    default = param.default
    if isinstance(default, enum.Enum):
        default = default.value
    if getattr(param, "is_flag", False):
        if param.secondary_opts and isinstance(default, bool):
            return param.opts[0] if default else param.secondary_opts[0]
        return None
    if default is None or default == "" or callable(default):
        return None
    return str(default)


def _help_text(param) -> Text:
    text = Text.from_markup(_(param.help or ""))
    default = _default(param)
    if default is not None:
        text.append(" " + _("(default: {value})").format(value=default), "dim")
    return text


def _option_rows(params, width: int) -> list:
    rows = []
    for param in params:
        flags = _flags(param)
        help_text = _help_text(param)
        beside = len(flags) + INDENT + 2 <= HELP_COLUMN
        lead = Text(" " * INDENT + flags, "bold" if beside else "bold")
        if beside:
            lead.append(" " * (HELP_COLUMN - len(lead)))
            body = help_text.wrap(_console(), max(20, width - HELP_COLUMN))
            first = True
            for line in body:
                row = lead.copy() if first else Text(" " * HELP_COLUMN)
                row.append_text(line)
                rows.append(row)
                first = False
            if not body:
                rows.append(lead)
        else:
            rows.append(lead)
            for line in help_text.wrap(_console(), max(20, width - HELP_COLUMN)):
                rows.append(Text(" " * HELP_COLUMN) + line)
    for row in rows:
        row.rstrip()
    return rows


_CONSOLE: list[Console] = []


def _console(width: int | None = None) -> Console:
    """The console help is printed with: the terminal's width, at most 100 columns (a new one
    when ``width`` is given or none exists yet, else the one being printed with)."""
    if width is not None or not _CONSOLE:
        from ..render.console import _detect_width

        _CONSOLE[:] = [Console(width=width or min(_detect_width(None), 100), highlight=False)]
    return _CONSOLE[0]


def _fresh_console() -> Console:
    from ..render.console import _detect_width

    return _console(min(_detect_width(None), 100))


def _paragraphs(doc: str, width: int) -> list:
    """The command's docstring: paragraphs re-flowed at word boundaries, and indented example
    lines kept whole, their comment moved under the command when the line does not fit."""
    out = []
    for block in re.split(r"\n\s*\n", doc.strip()):
        lines = block.splitlines()
        if all(line.startswith("  ") for line in lines if line.strip()) and len(lines) > 0:
            for line in lines:
                command, _sep, comment = line.strip().partition("  ")
                comment = comment.strip()
                whole = "  " + command + ("  " + comment if comment else "")
                if len(whole) <= width - INDENT:
                    pad = max(2, 46 - len(command)) if comment else 0
                    whole = "  " + command + (" " * pad + comment if comment else "")
                if len(whole) <= width - INDENT:
                    out.append(Text(whole))
                    continue
                # too long: the command broken at spaces (never inside a word), the comment under
                pieces = textwrap.wrap(
                    command, width - 4, initial_indent="  ", subsequent_indent="      ",
                    break_long_words=False, break_on_hyphens=False,
                )  # fmt: skip
                out += [Text(piece) for piece in pieces]
                if comment:
                    out.append(Text("      " + comment, "dim"))
            out.append(Text(""))
        else:
            out.append(Text.from_markup(" ".join(line.strip() for line in lines)))
            out.append(Text(""))
    return out


def _panels(params) -> list[tuple[str, list]]:
    groups: dict[str, list] = {}
    for param in params:
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            panel = "Arguments"
        else:
            panel = getattr(param, "rich_help_panel", None) or "Options"
        groups.setdefault(panel, []).append(param)
    order = {name: i for i, name in enumerate(PANEL_ORDER)}
    return sorted(groups.items(), key=lambda item: order.get(item[0], len(order) - 0.5))


def _translated_doc(doc: str) -> str:
    """The docstring in the user's language: its prose paragraphs are msgids (see
    i18n_catalog.help_paragraphs), the example lines stay as they are."""
    if _(doc) != doc:  # a help= text of several paragraphs is one msgid
        return _(doc)
    prose = set(help_paragraphs(doc))
    paragraphs = re.split(r"\n\s*\n", inspect.cleandoc(doc))
    return "\n\n".join(_(p) if p in prose else p for p in paragraphs)


def render_help(command, ctx, width: int | None = None):
    """The help of ``command`` (a click command or group) as a Rich renderable."""
    console = _console(width)
    width = console.width
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    parts: list = [Text.assemble((_("Usage: "), "bold"), usage), Text("")]
    doc = command.help or ""
    for paragraph in _paragraphs(_translated_doc(doc), width - 1):
        lines = [Text(" ") + line for line in paragraph.wrap(console, width - 1)]
        for line in lines:
            line.rstrip()
        parts += lines or [Text("")]
    if isinstance(command, TyperGroup):
        names = command.list_commands(ctx)
        parts.append(Text(_("Commands"), "bold underline"))
        for name in names:
            sub = command.get_command(ctx, name)
            summary = _translated_doc(sub.help or "").strip().split("\n\n")[0].replace("\n", " ")
            lead = Text(" " * INDENT + name, "bold")
            lead.append(" " * max(2, 12 - len(name)))
            indent = len(lead)
            for i, line in enumerate(Text.from_markup(summary).wrap(console, width - indent)):
                row = (lead.copy() if i == 0 else Text(" " * indent)) + line
                row.rstrip()
                parts.append(row)
        parts.append(Text(""))
    for panel, params in _panels(command.get_params(ctx)):
        parts.append(Text(_(panel), "bold underline"))
        parts += _option_rows(params, width)
        parts.append(Text(""))
    return Group(*parts)


def print_help(command, ctx) -> None:
    console = _fresh_console()
    with console.capture() as captured:
        console.print(render_help(command, ctx, console.width), soft_wrap=False, crop=False)
    text = re.sub(r"\n{3,}", "\n\n", captured.get()).rstrip("\n") + "\n"
    console.file.write(text)


class HelpCommand(TyperCommand):
    """A Typer command whose ``--help`` is ours (see the module's docstring)."""

    def format_help(self, ctx, formatter) -> None:
        print_help(self, ctx)


class HelpGroup(TyperGroup):
    """The ``convtrace`` group, with the same help layout and a list of its commands."""

    def format_help(self, ctx, formatter) -> None:
        print_help(self, ctx)
