"""The language a student reads: English, or Spanish with ``--lang es`` (stdlib gettext only).

Every sentence the views, explain, check and the error messages print goes through ``_()``
(or ``ngettext``); the Spanish catalog is ``locale/es/LC_MESSAGES/convtrace.po``, compiled to
``convtrace.mo`` next to it (both committed: ``python -m convtrace.i18n_catalog`` updates them).

The language is chosen per command (``--lang``, else ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``),
so text made before it is known stays translatable: a string marked ``N_("…")`` is looked up
where it is shown, and ``Msg("… {name} …", name=…)`` is a ``str`` holding the English text
(what JSON and ``str()`` see) that ``_()`` translates at display time. Msgs concatenate
lazily (``msg + ";  " + other`` is still a Msg). Numbers, stage names, option names and JSON
keys are never translated; JSON documents are written in English (``english()``), so they are
byte-identical in both languages.
"""

from __future__ import annotations

import contextlib
import gettext as _gettext
import os
from pathlib import Path

DOMAIN = "convtrace"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "es")
#: The environment variables that name the user's language, in POSIX precedence.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")

_ENGLISH = _gettext.NullTranslations()
_loaded: dict[str, _gettext.NullTranslations] = {"en": _ENGLISH}
_current: _gettext.NullTranslations = _ENGLISH
_language = "en"


def _translations(language: str) -> _gettext.NullTranslations:
    if language not in _loaded:
        _loaded[language] = _gettext.translation(
            DOMAIN, LOCALE_DIR, languages=[language], fallback=True
        )
    return _loaded[language]


def language_from_environment(environ=None) -> str:
    """``es`` when the first set of LC_ALL, LC_MESSAGES, LANG names Spanish (``es``,
    ``es_ES.UTF-8``, ``es_AR``…), else ``en`` (C, POSIX, en_*, anything else, nothing set)."""
    environ = os.environ if environ is None else environ
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "").strip()
        if value:
            return "es" if value.lower().split(".")[0].split("_")[0] == "es" else "en"
    return "en"


def resolve_language(lang: str | None = None, environ=None) -> str:
    """``--lang`` when given (``es`` | ``en``, any case; ``es_ES`` counts as ``es``), else the
    environment's (see ``language_from_environment``). A ValueError names a language we lack."""
    if lang is None:
        return language_from_environment(environ)
    chosen = str(lang).strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    if chosen not in LANGUAGES:
        raise ValueError(
            _("{option} must be one of {allowed}; got {value!r}").format(
                option="--lang", value=lang, allowed=", ".join(LANGUAGES)
            )
        )
    return chosen


def set_language(lang: str | None = None) -> str:
    """Make ``lang`` (resolved as ``resolve_language``) the language of ``_()``; returns it."""
    global _current, _language
    _language = resolve_language(lang)
    _current = _translations(_language)
    return _language


def current_language() -> str:
    return _language


@contextlib.contextmanager
def language(lang: str | None):
    """``set_language(lang)`` for the duration of a block, then the previous language again."""
    previous = _language
    set_language(lang)
    try:
        yield
    finally:
        set_language(previous)


def english():
    """A block whose text is English whatever the language: JSON documents."""
    return language("en")


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it now (``_()`` it when shown)."""
    return message


def _(message):
    """``message`` in the current language: a Msg is formatted from its translated template,
    a plain string is looked up as it is (unknown strings come back unchanged)."""
    translated = getattr(message, "translated", None)
    if translated is not None:
        return translated()
    if not message:
        return message
    return _current.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """``singular`` or ``plural`` for ``n``, in the current language."""
    return _current.ngettext(singular, plural, n)


class Msg(str):
    """English text now (``str(msg)``, JSON), translated by ``_()`` when shown.

    ``Msg("Conv filters {W}", W="W2")`` reads ``Conv filters W2``; ``_(it)`` formats the
    Spanish template with the same fields (a field that is itself a Msg is translated too).
    """

    def __new__(cls, msgid: str, /, _raw: bool = False, **fields):
        text = msgid.format(**fields) if fields else msgid
        self = super().__new__(cls, text)
        self.msgid, self.fields, self.raw = msgid, fields, _raw
        return self

    def translated(self) -> str:
        template = self.msgid if self.raw else _current.gettext(self.msgid)
        if not self.fields:
            return template
        fields = {k: v.translated() if isinstance(v, Msg) else v for k, v in self.fields.items()}
        return template.format(**fields)

    def __add__(self, other):
        if not isinstance(other, str):
            return NotImplemented
        return Msg("{a}{b}", _raw=True, a=self, b=other)

    def __radd__(self, other):
        if not isinstance(other, str):
            return NotImplemented
        return Msg("{a}{b}", _raw=True, a=other, b=self)


def plural(singular: str, plural_: str, count: int, /, **fields) -> str:
    """``ngettext`` then ``format(n=n, **fields)`` (a field named ``n`` wins):
    ``plural("{n} stage", "{n} stages", 3)``."""
    return ngettext(singular, plural_, count).format(**{"n": count, **fields})
