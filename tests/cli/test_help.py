"""``--help`` at 80 and 100 columns, in English and Spanish: nothing cut or broken mid-word, no
``<bool>``, the same group order on every command, and usage errors in one voice.

Snapshots of ``run --help`` at 80 columns sit in tests/snapshots/; after an intended change
run ``CONVTRACE_UPDATE_SNAPSHOTS=1 pytest tests/cli/test_help.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import typer.main
from rich.cells import cell_len

from convtrace.cli.help import PANEL_ORDER
from convtrace.cli.main import COMMANDS, app
from convtrace.i18n import _, language

SNAPSHOTS = Path(__file__).parents[1] / "snapshots"
GROUP = typer.main.get_command(app)


def help_of(invoke, monkeypatch, args, width, lang):
    """``convtrace ARGS --help`` through the real entry point, with LANG set as a user would."""
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setenv("LANG", "es_ES.UTF-8" if lang == "es" else "C.UTF-8")
    result = invoke(*args, "--help")
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def invoke(monkeypatch, capsys):
    """The console script's main(): it picks the language from --lang or the environment."""
    from convtrace.cli.main import main

    monkeypatch.setenv("NO_COLOR", "1")

    class Result:
        pass

    def _invoke(*args):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main([str(a) for a in args])
        result = Result()
        result.exit_code = exit_info.value.code
        captured = capsys.readouterr()
        result.stdout, result.stderr = captured.out, captured.err
        result.output = captured.out + captured.err
        return result

    return _invoke


def _flags(command: str) -> list[str]:
    params = GROUP.commands[command].params
    options = [p for p in params if p.param_type_name == "option"]
    return [flag for p in options for flag in p.opts + p.secondary_opts]


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_fits_and_no_flag_is_broken(invoke, monkeypatch, command, width, lang):
    text = help_of(invoke, monkeypatch, [command] if command else [], width, lang)
    assert "<bool>" not in text
    assert not any(line.endswith("…") for line in text.splitlines())  # nothing cut
    for line in text.splitlines():
        assert cell_len(line) <= width, line
        assert line == line.rstrip(), repr(line)  # no trailing blanks
    if command:
        words = set(re.findall(r"--?[a-z][a-z0-9-]*", text))
        for flag in _flags(command):
            assert flag in words, f"{flag} missing or broken in {command} --help"


def _panels(text: str, lang: str) -> list[str]:
    with language(lang):
        titles = [_(p) for p in PANEL_ORDER]
    return [line for line in text.splitlines() if line in titles]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_groups_come_in_one_order_on_every_command(invoke, monkeypatch, lang):
    with language(lang):
        order = [_(p) for p in PANEL_ORDER]
    for command in COMMANDS:
        panels = _panels(help_of(invoke, monkeypatch, [command], 80, lang), lang)
        assert panels, command
        assert panels == sorted(panels, key=order.index), (command, panels)
    run = _panels(help_of(invoke, monkeypatch, ["run"], 80, lang), lang)
    forward = _panels(help_of(invoke, monkeypatch, ["forward"], 80, lang), lang)
    with language(lang):
        sgd = _("After the gradient (SGD)")  # --lr: run takes one SGD step, forward cannot
    assert [p for p in run if p != sgd] == forward and sgd in run


def test_spanish_help_is_spanish(invoke, monkeypatch):
    text = help_of(invoke, monkeypatch, ["run"], 80, "es")
    assert text.startswith("Uso: convtrace run")
    for spanish in ("Capas", "Salida", "(por defecto: 42)", "Semilla del generador"):
        assert spanish in text
    for english in ("Usage:", "Layers", "(default:", "Seed of torch"):
        assert english not in text


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_command_list_is_translated_and_shows_no_markup(invoke, monkeypatch, lang):
    text = help_of(invoke, monkeypatch, [], 100, lang)
    assert "[bold]" not in text and "[/bold]" not in text
    live = text[text.index("  live") :]
    spanish = "Una vista a pantalla completa"
    assert (spanish in live) == (lang == "es"), live
    assert ("A full-screen view" in live) == (lang == "en"), live


@pytest.mark.parametrize("lang", ["en", "es"])
def test_run_help_at_80_columns_matches_its_snapshot(invoke, monkeypatch, lang):
    text = help_of(invoke, monkeypatch, ["run"], 80, lang)
    path = SNAPSHOTS / f"help_run_w80_{lang}.txt"
    if os.environ.get("CONVTRACE_UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["bench", "--preset", "huge"], "Error: --preset must be one of small, medium, large; "
         "got 'huge'"),
        (["run", "--precision", "13"], "Error: --precision must be between 0 and 12, got 13"),
        (["run", "--seed", "x"], "Error: --seed must be a whole number, got 'x'"),
        (["bench", "--repeat", "0"], "Error: --repeat must be at least 1, got 0"),
        (["check", "--timeout", "soon", "f.py"], "Error: --timeout must be a number, got 'soon'"),
        (["run", "--color", "no"], "Error: --color must be one of auto, always, never; got 'no'"),
        (["run", "--only"], "Error: --only needs a value (see convtrace run --help)"),
        (["explain"], "Error: CELL is missing"),
        (["run", "--net", "conv(0,3) fc(2)"],
         "Error: conv(0,3): number of filters must be at least 1, got 0"),
        (["run", "--net", "conv(2,3) conv(0,3) fc(2)"], "Error: conv2 = conv(0,3): number of"),
    ],
)  # fmt: skip
def test_usage_errors_name_what_was_typed_and_what_is_allowed(invoke, args, expected):
    result = invoke(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), lines
    assert "Value error" not in lines[0] and "Input should" not in lines[0]
    assert "(the input x)" not in lines[0]


def test_usage_errors_are_spanish_under_lang_es(invoke, monkeypatch):
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    result = invoke("bench", "--preset", "huge")
    assert result.stderr.startswith("Error: --preset debe ser uno de small, medium, large")


def test_lang_before_the_command_gives_spanish_help_and_errors(invoke):
    result = invoke("--lang", "es", "--help")
    assert result.exit_code == 0 and result.stdout.startswith("Uso: convtrace")
    assert "Órdenes" in result.stdout
    result = invoke("--lang", "es", "run", "--zzz")
    assert result.exit_code == 2 and result.stderr.startswith("Error: No existe la opción --zzz")
    result = invoke("--lang", "fr", "run")
    assert result.exit_code == 2 and "--lang must be one of en, es; got 'fr'" in result.stderr
