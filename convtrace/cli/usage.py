"""Usage errors (a value the command line cannot take) in convtrace's one voice.

Typer's own wording (``Value error, 'huge' is not one of 'small', …``, ``Input should be less
than or equal to 12``) becomes the sentence every other refusal uses, naming what was typed
and what is allowed, in the user's language, worded as the scenario's own refusals:
``--preset must be one of small, medium, large; got 'huge'``, ``--precision must be between 0
and 12, got 13``, ``--seed must be a whole number, got 'x'``.
"""

from __future__ import annotations

import enum

from ..i18n import _
from .errors import no_such_option


def typed_value(param, args: list[str]) -> str | None:
    """The value given to ``param`` on the command line (its last occurrence), or None."""
    value = None
    flags = list(param.opts) + list(getattr(param, "secondary_opts", []))
    for i, arg in enumerate(args):
        for flag in flags:
            if arg == flag and i + 1 < len(args):
                value = args[i + 1]
            elif arg.startswith(flag + "="):
                value = arg[len(flag) + 1 :]
    return value


def _option(param) -> str:
    longs = [o for o in param.opts if o.startswith("--")]
    return (longs or list(param.opts))[0]


def bad_parameter(param, args: list[str]) -> str | None:
    """The sentence for a value ``param`` refused, or None when we cannot say better."""
    value = typed_value(param, args)
    if value is None:
        return None
    option = _option(param)
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        allowed = ", ".join(str(m.value) for m in annotation)
        return _("{option} must be one of {allowed}; got {value!r}").format(
            option=option, allowed=allowed, value=value
        )
    if annotation is int:
        try:
            number = int(value)
        except ValueError:
            return _("{option} must be a whole number, got {value!r}").format(
                option=option, value=value
            )
        low, high = getattr(param, "min", None), getattr(param, "max", None)
        if low is not None and high is not None:
            return _("{option} must be between {low} and {high}, got {value}").format(
                option=option, value=number, low=low, high=high
            )
        if low is not None:
            return _("{name} must be at least {minimum}, got {value}").format(
                name=option, value=number, minimum=low
            )
    if annotation is float:
        try:
            float(value)
        except ValueError:
            return _("{option} must be a number, got {value!r}").format(option=option, value=value)
    return None


def missing_parameter(param) -> str | None:
    """``explain`` without its CELL, or an option without its value."""
    if param is None:
        return None
    if param.param_type_name == "argument":
        return _("{name} is missing: give it after the command").format(
            name=(param.metavar or param.name.upper())
        )
    return needs_value(_option(param))


def needs_value(option: str) -> str:
    return _("{option} needs a value").format(option=option)


COMMANDS = ("run", "forward", "backward", "shapes", "explain", "bench", "check", "train", "live")


def usage_message(error, click_errors, args: list[str] = ()) -> str:
    """Click's message on one line, in our voice where we know better (see usage.py); an
    unknown option names its closest match first."""
    param = getattr(error, "param", None)
    if isinstance(error, click_errors.MissingParameter):
        if (message := missing_parameter(param)) is not None:
            return message
    elif isinstance(error, click_errors.BadParameter) and param is not None:
        if (message := bad_parameter(param, list(args))) is not None:
            return message
    if isinstance(error, click_errors.NoSuchOption) and not getattr(error, "possibilities", None):
        return _("No such option: {option}").format(option=error.option_name)
    if isinstance(error, click_errors.BadOptionUsage) and "requires an argument" in str(error):
        return needs_value(error.option_name)
    possibilities = getattr(error, "possibilities", None)
    if isinstance(error, click_errors.NoSuchOption) and possibilities:
        import difflib

        ranked = sorted(
            possibilities,
            key=lambda p: -difflib.SequenceMatcher(None, error.option_name, p).ratio(),
        )
        return no_such_option(error.option_name, ranked)
    return " ".join(error.format_message().split())
