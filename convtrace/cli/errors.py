"""Errors as exit codes, for every command: ``guarded`` adds ``--debug`` and ``--lang`` and turns
a ConvtraceError into ``Error: …`` and exit 2, anything unexpected into a short message and
exit 1; ``fail`` is the one-line refusal; ``no_such_option`` the did-you-mean sentence."""

from __future__ import annotations

import inspect
import typing
import warnings
from collections.abc import Callable

import typer

from ..core.errors import ConvtraceError
from ..i18n import _, language, resolve_language
from ..scenario.spec import DEFAULT_MAX_ELEMENTS
from .options import OUTPUT, extend_signature, option

DEBUG_PARAM = option(
    "debug",
    bool,
    False,
    "--debug",
    panel=OUTPUT,
    help="Show the full traceback of an unexpected error.",
)


LANG_PARAM = option(
    "lang",
    str | None,
    None,
    "--lang",
    metavar="es|en",
    panel=OUTPUT,
    help="Language of what is printed: es (Spanish) or en (English); default from LC_ALL, "
    "LC_MESSAGES or LANG (es_* is Spanish), else English. JSON is the same in both.",
    show_default=False,
)


def no_such_option(name: str, close: list[str]) -> str:
    """``No such option: --seeed; did you mean --seed (or --step, --size)?``: ``close`` holds
    the nearest names, best first (the CLI's and the notebook's keywords alike)."""
    others = _(" (or {options})").format(options=", ".join(close[1:])) if len(close) > 1 else ""
    return _("No such option: {option}; did you mean {best}{others}?").format(
        option=name, best=close[0], others=others
    )


def fail(message: str, code: int = 2):
    """One line on stderr, then exit with ``code``."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def guarded(command: Callable) -> Callable:
    """Add ``--debug``; a ConvtraceError becomes ``Error: …`` and exit 2, running out of memory
    a sentence and exit 2, anything unexpected a short message and exit 1 (with the traceback
    under --debug). Python, numpy and torch warnings never reach the terminal: whatever matters
    is refused or explained by convtrace itself (overflow is refused stage by stage); under
    --debug they are listed on stderr."""

    def convert(values):
        return {"_debug": values["debug"], "_lang": values["lang"]}

    def run(_debug: bool = False, _lang: str | None = None, **kwargs):
        try:
            chosen = resolve_language(_lang)
        except ValueError as error:
            fail(str(error), 2)
        with language(chosen), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return command(**kwargs)
            except (typer.Exit, typer.Abort, KeyboardInterrupt):
                raise
            except ConvtraceError as error:
                if _debug:
                    raise
                fail(str(error), 2)
            except MemoryError:
                if _debug:
                    raise
                fail(
                    _(
                        "this machine ran out of memory for the run; use a smaller "
                        "--size, --batch or --filters, or a lower --max-elements (its "
                        "default, {DEFAULT_MAX_ELEMENTS:,}, fits in about 1 GB)"
                    ).format(DEFAULT_MAX_ELEMENTS=DEFAULT_MAX_ELEMENTS),
                    2,
                )
            except Exception as error:  # the promise: never a traceback unless asked for
                if _debug:
                    raise
                typer.echo(
                    "Internal error: "
                    + _(
                        "{kind}: {error} (run again with --debug for the traceback, and please "
                        "report it)"
                    ).format(kind=type(error).__name__, error=error),
                    err=True,
                )
                raise typer.Exit(1) from None
            finally:
                if _debug:
                    for w in caught:
                        typer.echo(
                            f"debug: {w.category.__name__}: {w.message} ({w.filename}:{w.lineno})",
                            err=True,
                        )

    run.__signature__ = inspect.signature(command)
    run.__annotations__ = dict(typing.get_type_hints(command, include_extras=True))
    run.__name__, run.__doc__ = command.__name__, command.__doc__
    return extend_signature(run, [DEBUG_PARAM, LANG_PARAM], convert)
