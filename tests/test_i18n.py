"""Spanish (``--lang es``): the catalog is complete and compiled, the language is chosen as
documented, JSON does not change with it, and what a student reads is Spanish (no English
sentence left unmarked). The Spanish default run at 100 columns is a snapshot, like the
English one (``CONVTRACE_UPDATE_SNAPSHOTS=1`` rewrites both; review the diff).
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import string
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convtrace import i18n
from convtrace.cli.main import app
from convtrace.i18n_catalog import MO, PO, extract, mo_bytes, read_po

SNAPSHOT = Path(__file__).parent / "snapshots" / "default_run_w100_es.txt"
STUDENTS = Path(__file__).parent.parent / "examples" / "students"


def _fields(text: str) -> list[str]:
    """The replacement fields of a brace-format string, with their conversion and spec."""
    return sorted(
        f"{name}!{conv}:{spec}"
        for _, name, spec, conv in string.Formatter().parse(text)
        if name is not None
    )


# --------------------------------------------------------------------------- the catalog
def test_every_marked_string_has_a_spanish_entry():
    found, entries = extract(), read_po()
    assert len(found) > 300  # the extraction does find the package's strings
    missing = [
        k for k in found if not entries.get(k) or (isinstance(k, tuple) and not all(entries[k]))
    ]
    assert not missing, f"no Spanish msgstr (run python -m convtrace.i18n_catalog): {missing}"
    stale = [k for k in entries if k and k not in found]
    assert not stale, f"the .po holds msgids the code no longer has: {stale}"


def test_translations_keep_every_placeholder():
    """Same fields, conversions and format specs in the Spanish text as in the English."""
    for key, value in read_po().items():
        if isinstance(key, str):
            if key:
                assert set(_fields(value)) == set(_fields(key)), (key, value)
            continue
        allowed = set(_fields(key[0])) | set(_fields(key[1]))
        assert set(_fields(value[0])) <= allowed and set(_fields(value[1])) <= allowed, key
        assert set(_fields(key[1])) <= set(_fields(value[1])), key


def test_the_compiled_catalog_is_the_po():
    """The committed .mo is what the .po compiles to, and gettext reads every entry from it
    (no msgfmt needed: CI machines have only Python)."""
    entries = read_po()
    assert MO.read_bytes() == mo_bytes(entries), "stale .mo: run python -m convtrace.i18n_catalog"
    with MO.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    for key, value in entries.items():
        if isinstance(key, tuple):
            assert catalog.ngettext(key[0], key[1], 1) == value[0]
            assert catalog.ngettext(key[0], key[1], 5) == value[1]
        elif key:
            assert catalog.gettext(key) == value


def test_package_data_ships_the_catalog():
    text = (Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert "locale/*/LC_MESSAGES/*.mo" in text and "locale/*/LC_MESSAGES/*.po" in text
    assert PO.exists() and MO.exists()


def test_no_function_shadows_the_translation_function():
    """``_`` used as a throwaway variable in a function that also calls ``_()`` breaks it."""
    package = Path(i18n.__file__).parent
    bad = []
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            names = [n for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == "_"]
            stores = [n for n in names if isinstance(n.ctx, ast.Store)]
            calls = [
                n for n in ast.walk(fn)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_"
            ]  # fmt: skip
            if stores and calls:
                bad.append(f"{path.name}:{fn.name}")
    assert not bad


# --------------------------------------------------------------------------- the language
@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "es_ES.UTF-8"}, "es"),
        ({"LANG": "es"}, "es"),
        ({"LANG": "es_AR.UTF-8"}, "es"),
        ({"LC_ALL": "es_MX.UTF-8", "LANG": "en_US.UTF-8"}, "es"),
        ({"LC_ALL": "C", "LANG": "es_ES.UTF-8"}, "en"),
        ({"LC_MESSAGES": "es_ES.UTF-8", "LANG": "C"}, "es"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "POSIX"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "estonian"}, "en"),
        ({}, "en"),
    ],
)
def test_language_from_the_environment(environ, expected):
    assert i18n.resolve_language(None, environ) == expected


def test_lang_overrides_the_environment():
    assert i18n.resolve_language("en", {"LANG": "es_ES.UTF-8"}) == "en"
    assert i18n.resolve_language("ES", {"LANG": "C"}) == "es"
    with pytest.raises(ValueError, match="not one of en | es"):
        i18n.resolve_language("fr", {})


def test_msg_is_english_text_and_translated_when_shown():
    title = i18n.Msg("Conv filters {W}", W="W2")
    assert title == "Conv filters W2" and isinstance(title, str)
    lazy = title + " · " + i18n.Msg("Input image x")
    with i18n.language("es"):
        assert i18n._(title) == "Filtros de la convolución W2"
        assert i18n._(lazy) == "Filtros de la convolución W2 · Imagen de entrada x"
        assert str(lazy) == "Conv filters W2 · Input image x"
    assert i18n._(title) == "Conv filters W2"


@pytest.fixture
def cli(monkeypatch):
    """Run the CLI at 100 columns without colour in a neutral locale; returns the Result."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    runner = CliRunner()

    def invoke(*args, env=None):
        return runner.invoke(app, [str(a) for a in args], env=env)

    return invoke


def test_lang_environment_and_override(cli):
    spanish = cli("run", "--seed", "42", env={"LANG": "es_ES.UTF-8"})
    assert spanish.exit_code == 0, spanish.output
    assert "Imagen de entrada x" in spanish.output and "25 de 25 etapas coinciden" in spanish.output
    english = cli("run", "--seed", "42", "--lang", "en", env={"LANG": "es_ES.UTF-8"})
    assert "Input image x" in english.output and "Imagen" not in english.output
    assert "25 of 25 stages agree" in english.output
    assert i18n.current_language() == "en"  # a command does not leave its language behind


def test_a_language_we_lack_is_refused(cli):
    result = cli("run", "--lang", "fr")
    assert result.exit_code == 2
    assert result.output.startswith("Error: --lang must be one of en, es; got 'fr'")


@pytest.mark.parametrize(
    "args",
    [
        ("run", "--seed", "42", "--json"),
        ("run", "--seed", "3", "--activation", "relu", "--pool", "avg", "--json", "--gradcheck"),
        ("explain", "conv.out[0,1,2,2]", "--json"),
        ("explain", "pool.out[0,1,1,1]", "--json"),
        ("shapes", "--size", "7", "--stride", "2", "--padding", "same", "--json"),
        ("run", "--bug", "channels-last-output", "--json"),
    ],
)
def test_json_is_byte_identical_in_both_languages(cli, args):
    """JSON carries no translated text: titles, formulas and sentences stay English."""
    english = cli(*args, "--lang", "en")
    spanish = cli(*args, "--lang", "es")
    assert english.exit_code == spanish.exit_code
    assert english.stdout == spanish.stdout
    assert english.stdout.startswith("{")


def test_check_json_is_the_same_in_both_languages(cli):
    target = STUDENTS / "stride_ignored.py"
    english = cli("check", target, "--json", "--lang", "en")
    spanish = cli("check", target, "--json", "--lang", "es")
    assert english.exit_code == spanish.exit_code == 1
    assert english.stdout == spanish.stdout


# --------------------------------------------------------------------------- what students read
#: English a student would read if a string were never marked (checked absent in Spanish).
ENGLISH = [
    "Input image", "Conv filters", "Conv bias", "Convolution output", "receptive fields",
    "Filters as rows", "windows as columns", "Chosen cell", "Max-pooled", "Average-pooled",
    "Flattened features", "FC weights", "FC bias", "Fully connected", "Loss (", "ReLU activation",
    "matches torch", "stages agree", "not compared", "Forward", "Backward", "ours", "target y",
    "scalar", "the maximum of its pooling window", "goes to the window", "every cell of the window",
    "one column per pooling window", "first maximum on ties", "overlapping windows add",
    "overlaps add", "stride ", "seed ", "no pool", "max-pool", "avg-pool", "Zero-padded",
    "pad top", "shape", "stage ", "more slice", "rounds to n", "sum of", "terms", "equals the",
    "trace's", "window", "output position", "backward:", "flipped", "padding", "row ", "cases",
    "score", "diagnosis", "fix:", "first wrong cell", "expected", "tolerance", "no known pattern",
    "The kernel is", "The window start", "dX still holds", "Accumulate", "Multiply",
    "computing", "asking PyTorch", "every input", "never read", "positions per character",
    "mean over", "sample", "features", "times row", "is shared", "goes entirely",
]  # fmt: skip


def _spanish_screens(cli):
    runs = [
        ("run", "--seed", "42"),
        ("run", "--net", "conv(2,3) relu avgpool(2) fc(2)", "--size", "8", "--loss", "ce",
         "--classes", "2", "--gradcheck"),
        ("run", "--seed", "5", "--activation", "relu", "--pool", "avg", "--padding", "same",
         "--stride", "2", "--size", "7"),
        ("backward", "--seed", "42"),
        ("explain", "conv.out[0,1,2,2]"),
        ("explain", "pool.out[0,1,1,1]"),
        ("explain", "pool.out[0,1,1,1]", "--pool", "avg", "--pool-stride", "1"),
        ("explain", "grad.conv.weight[0,0,0,0]"),
        ("explain", "grad.conv.bias[1]"),
        ("explain", "grad.input[0,0,2,2]", "--stride", "2", "--padding", "same"),
        ("explain", "fc.out[0,0]"),
        ("explain", "grad.fc.weight[0,3]"),
        ("explain", "loss", "--loss", "ce", "--classes", "3"),
        ("explain", "loss", "--loss", "mse"),
        ("shapes", "--size", "8", "--kernel", "3", "--stride", "2"),
        ("shapes", "--size", "7", "--kernel", "3", "--stride", "2", "--padding", "same"),
        ("check", STUDENTS / "stride_ignored.py"),
        ("check", STUDENTS / "overwrite.py"),
        ("check", STUDENTS / "correct.py"),
        ("check", "--list-bugs"),
    ]  # fmt: skip
    for args in runs:
        result = cli(*args, "--lang", "es")
        assert result.exit_code in (0, 1), (args, result.output)
        yield args, result.output


def _words(text: str) -> str:
    """The text without stage names, option names and the file paths it quotes."""
    text = re.sub(r"(--[a-z-]+|grad\.[\w.]+|\b[a-z]+\d*\.[a-z_]+\b|\S+\.py\b)", " ", text)
    # code and bug ids the sentences quote: i*stride, x.shape, windows∈[…], padding-not-removed
    text = re.sub(r"\S*[*∈]\S*|\.\w+|\b\w+(?:-\w+)+\b", " ", text)
    return text


def test_what_a_student_reads_is_spanish(cli):
    leaks = []
    for args, output in _spanish_screens(cli):
        words = _words(output)
        leaks += [
            (args[:2], phrase, line.strip())
            for line in words.splitlines()
            for phrase in ENGLISH
            if re.search(r"(?<![\w-])" + re.escape(phrase), line)
        ]
    assert not leaks


@pytest.mark.parametrize(
    ("args", "spanish"),
    [
        (("run", "--size", "0"), "debe ser al menos 1"),
        (("run", "--padding", "nope"), "relleno desconocido"),
        (("run", "--input", "nope.npy"), "no existe"),
        (("run", "--pool-size", "9"), "no cabe en"),
        (("run", "--net", "conv(2,3) bogus(1) fc(1)"), "capa desconocida"),
        (("run", "--only", "nothing*"), "ninguna etapa coincide"),
        (("explain", "conv.out[0,9,0,0]"), "fuera de rango"),
        (("explain", "banana"), "explain no tiene una suma"),
        (("run", "--quiet"), "--quiet solo escribe"),
        (("check", "does-not-exist.py"), "no existe"),
        (("shapes", "--color", "purple"), "debe ser uno de"),
    ],
)
def test_error_messages_are_spanish_after_an_english_prefix(cli, args, spanish):
    result = cli(*args, "--lang", "es")
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert line.startswith("Error: ") and "\n" not in line
    assert spanish in line


def test_usage_errors_keep_the_prefix_and_translate_the_hint(monkeypatch, capsys):
    from convtrace.cli.main import main

    monkeypatch.setenv("LANG", "C")
    with pytest.raises(SystemExit) as stop:
        main(["run", "--seeed", "3", "--lang", "es"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: No existe la opción --seeed; ¿quisiste decir --seed")
    assert err.endswith("(ver convtrace run --help)")


# --------------------------------------------------------------------------- the snapshot
def test_default_run_snapshot_in_spanish(cli):
    """``convtrace run --seed 42 --lang es`` at 100 columns; no line is wider than that."""
    result = cli("run", "--seed", "42", "--lang", "es")
    assert result.exit_code == 0
    text = "\n".join(line.rstrip() for line in result.output.splitlines()) + "\n"
    from rich.cells import cell_len

    assert max(cell_len(line) for line in text.splitlines()) <= 100
    if os.environ.get("CONVTRACE_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot yet: run with CONVTRACE_UPDATE_SNAPSHOTS=1"
    assert text == SNAPSHOT.read_text(encoding="utf-8")


def test_notebook_trace_speaks_its_lang(monkeypatch):
    import convtrace

    monkeypatch.setenv("LANG", "C")
    spanish = convtrace.trace(seed=42, lang="es", reference=False)
    assert "Imagen de entrada x" in spanish.view("input").text
    assert spanish.to_dict("input")["stages"][0]["title"] == "Input image x"
    assert "Input image x" in convtrace.trace(seed=42, reference=False).view("input").text
    with pytest.raises(convtrace.ConvtraceError, match="no se puede leer la celda"):
        spanish.explain("conv.out[")
    with pytest.raises(convtrace.ConvtraceError, match="--lang must be one of en, es; got 'fr'"):
        convtrace.trace(lang="fr")
    assert i18n.current_language() == "en"
