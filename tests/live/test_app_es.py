"""The Textual app in Spanish (``lang="es"``, or ``--lang es`` / LANG=es_* on ``convtrace live``):
the first screen, the help, the footer, Textual's key panel and the animations read Spanish,
no English sentence is left, the layout still fits 100×30 and 80×24, and the language the app
ran in is the one current before it afterwards. The Spanish first screen is a snapshot too
(``CONVTRACE_UPDATE_SNAPSHOTS=1`` rewrites it; review the diff).
"""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console

from convtrace import i18n
from convtrace.explain.cell import explain_cell
from convtrace.live.app import LiveApp, screen_text
from convtrace.live.keys import KEYS, footer_text
from convtrace.live.views import cursor_grid, explanation_text, stage_header
from convtrace.render.console import THEME

from .driver import drive as _drive
from .driver import matches_snapshot

SNAPSHOT = Path(__file__).parent / "snapshots" / "first_screen_100x30_es.txt"
CONV_OUT = ["j"] * 5  # input, conv.weight, conv.bias, conv.cols, conv.weight_rows, conv.out

#: English a student would read if a live string were never marked (checked absent in Spanish,
#: as whole words: "move" is not found in "mover").
ENGLISH = [
    "stage", "stages", "axes", "ours", "No sum", "explain writes", "is computed as", "arrows",
    "back", "the keys", "Stage list", "Stage view", "previous", "next", "faster", "slower",
    "open", "move", "play", "playing", "pause", "paused", "step", "speed", "keys", "quit", "slice",
    "cell", "window", "windows", "running sum", "filling in", "products", "stride", "dilation",
    "padding", "dim", "added", "so far", "touching", "pixel", "chosen", "first maximum", "more",
    "channels", "animation", "has no", "term", "terms", "equals", "differs", "bias", "rows",
    "cols", "shown", "this help", "any key", "the", "and",
]  # fmt: skip


def _words(text: str) -> str:
    """The text without stage names (``conv.out``, ``grad.conv.weight``, ``loss``)."""
    text = re.sub(r"grad\.[\w.]+|\b[a-z_]+\d*\.[a-z_]+\b", " ", text)
    return re.sub(r"(?<![\w.])loss(?![\w.])", " ", text)


def english_left(text: str) -> list[tuple[str, str]]:
    words = _words(text)
    return [
        (phrase, line.strip())
        for line in words.splitlines()
        for phrase in ENGLISH
        if re.search(r"(?<![\w-])" + re.escape(phrase) + r"(?!\w)", line, re.IGNORECASE)
    ]


def drive(trace, keys=(), size=(100, 30), check=None, lang="es"):
    """Run the app headless in Spanish (see tests/live/driver.py)."""
    return _drive(trace, keys, size, check, lang)


def fits(text: str, width: int, height: int) -> None:
    lines = text.splitlines()
    assert len(lines) == height and max(cell_len(line) for line in lines) <= width


@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
def test_first_screen_is_spanish_and_fits(trace, size):
    async def check(app, pilot):
        text = screen_text(app)
        fits(text, *size)
        for spanish in ("─ etapas ─", "ejes: n, c, h, w", "Imagen de entrada x", "─ 1/25 ─",
                        "coincide con torch", "nuestro · n=0, c=0", "cursor input[0,0,0,0] = 7",
                        "No hay suma que mostrar"):  # fmt: skip
            assert spanish in text, spanish
        if size[1] >= 30:  # at 24 rows the note under the grid scrolls on past the formula
            assert "se calcula así" in text
        footer = text.splitlines()[-1]
        keys = ("↑↓jk mover", "⏎ abrir", "t torch", "espacio animar", "? teclas", "q salir")
        for spanish in keys:
            assert spanish in footer, (spanish, footer)
        assert not english_left(text)

    drive(trace, check=check, size=size)


def test_first_screen_snapshot_in_spanish(trace):
    async def check(app, pilot):
        text = screen_text(app) + "\n"
        matches_snapshot(text, SNAPSHOT)

    drive(trace, check=check)


def test_the_footer_names_every_key_in_spanish():
    with i18n.language("es"):
        footer = footer_text(200, in_grid=True).plain
        assert "., paso" in footer and "+- velocidad" in footer and "esc atrás" in footer
        both = footer + footer_text(200, in_grid=False).plain
        for keys, what, _keys in KEYS:
            assert f"{i18n._(keys)} {i18n._(what)}" in both
        assert "espacio animar" in footer and "space" not in both
    assert not english_left(footer)
    assert footer_text(200, in_grid=True).plain != footer  # English again outside the block


@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
def test_help_screen_is_spanish(trace, size):
    async def check(app, pilot):
        text = screen_text(app)
        fits(text, *size)
        for spanish in ("convtrace live — las teclas", "Lista de etapas", "Vista de la etapa",
                        "etapa anterior / siguiente", "volver a la cuadrícula"):  # fmt: skip
            assert spanish in text, spanish
        if size[1] >= 30:  # 24 rows cut the help box's end, in English as in Spanish
            assert "más rápido / más lento" in text and "esta ayuda" in text
        assert not english_left(text)

    drive(trace, ["question_mark"], size=size, check=check)


def test_textuals_key_panel_shows_our_descriptions_in_spanish(trace):
    """Textual's own key panel (ctrl+p, Keys) shows the bindings' descriptions: ours in Spanish
    (Textual's own, e.g. the list's "Cursor up", stay English)."""

    async def check(app, pilot):
        app.action_show_help_panel()
        await pilot.pause()
        text = screen_text(app)
        for spanish in ("? teclas", "space animar", ". paso"):  # the panel's first rows
            assert spanish in text, spanish
        ours = {b.description for _key, b in app._bindings}
        assert {"atrás", "más rápido", "más lento", "subir la suma", "bajar la suma"} <= ours
        for english in ("? keys", "play", "step", "faster", "slower"):
            assert english not in text, english
        stage_list = app.query_one("#stages")
        descriptions = {b.description for _key, b in stage_list._bindings}
        assert {"etapa siguiente", "etapa anterior"} <= descriptions

    drive(trace, check=check)


@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
def test_conv_out_animation_is_spanish(trace, size):
    async def check(app, pilot):
        text = screen_text(app)
        fits(text, *size)
        assert app.frame == 1 and "ventana 2/16 · ⏸ en pausa · 2 ventanas/s" in text
        for spanish in ("la ventana en (0·s, 1·s)", "paso", "dilatación", "[v] = ventana",
                        "W[f=0, c=0]", "productos x·W", "H[n=0, f=0] completándose"):  # fmt: skip
            assert spanish in text, spanish
        if size[1] >= 30:  # below the grids: under the fold at 24 rows (the panel scrolls)
            assert "suma acumulada 6 → " in text and "esc: volver a la cuadrícula" in text
        assert not english_left(text)
        app.speed = 5  # the fastest: the timer plays the rest in Spanish
        await pilot.press("space")
        for _ in range(100):
            await pilot.pause(0.05)
            if not app.playing:
                break
        text = screen_text(app)
        assert app.frame == 15 and "ventana 16/16 · ⏸ en pausa · 16 ventanas/s" in text
        assert not english_left(text)

    drive(trace, [*CONV_OUT, "enter", "full_stop", "full_stop"], size=size, check=check)


def test_pool_and_col2im_animations_are_spanish(trace):
    async def check(app, pilot):
        assert app.stage.name == "pool.out" and app.frame == 0
        text = screen_text(app)
        for spanish in ("la ventana 2×2 en (0·2, 0·2)", "elegida: conv.out[0,0,",
                        "el primer máximo en",
                        "P[n=0, c=0] completándose"):  # fmt: skip
            assert spanish in text, spanish
        assert not english_left(text)
        to_grad_input = len(trace) - 1 - trace.names.index("pool.out")
        await pilot.press("escape", "escape", *(["j"] * to_grad_input), "enter", "full_stop")
        await pilot.press("full_stop")
        await pilot.pause()
        assert app.stage.name == "grad.input" and app.frame == 1
        text = screen_text(app)
        for spanish in ("ventana (i=0, j=1) del filtro f=0", "se suma",
                        "hasta ahora", "ventanas que tocan cada píxel",
                        "ventanas solapadas"):  # fmt: skip
            assert spanish in text, spanish
        assert not english_left(text)

    drive(trace, [*(["j"] * trace.names.index("pool.out")), "enter", "full_stop"], check=check)


def test_status_messages_are_spanish(trace):
    async def check(app, pilot):
        seen = {}
        for key in ("enter", "t", "plus", "full_stop", "escape", "escape"):
            await pilot.press(key)
            await pilot.pause()
            seen[key] = app.message
        assert seen["enter"] == "←→↑↓ celda · esc: etapas"
        assert seen["t"] == "a la vista: torch y nuestro − torch"
        assert seen["plus"] == "velocidad 4 ventanas/s"
        assert seen["escape"] == "animación cerrada"
        await pilot.press("k", "k", "full_stop")  # conv.cols: no animation
        await pilot.pause()
        assert app.stage.name == "conv.cols" and app.message.startswith(
            "conv.cols no tiene animación"
        )
        assert not any(english_left(m) for m in [*seen.values(), app.message])

    drive(trace, CONV_OUT, check=check)


def rendered(renderable, width: int = 60) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, theme=THEME)
    console.print(renderable)
    return console.export_text()


def test_the_explanation_panel_and_headers_read_spanish(trace):
    """What the panels draw, rendered on a Console (the parts a 30-row screen scrolls past)."""
    with i18n.language("es"):
        fc = rendered(explanation_text(explain_cell(trace, "fc.out", (0, 0))))
        grad = rendered(explanation_text(explain_cell(trace, "grad.input", (0, 0, 2, 2))))
        loss = rendered(stage_header(trace["loss"], trace, "etapa 15/25"))
        big = rendered(cursor_grid(np.arange(400.0).reshape(20, 20), (10, 10), "x", width=60))
    assert "8 términos" in fc and "+ sesgo 1 = 18" in fc
    assert "✓ es igual a fc.out[0,0] de la traza = 18" in fc
    assert "términos = 9 ventanas × 2 filtros" in grad
    assert "loss  escalar" in loss and "ejes: ninguno (un escalar)" in loss
    assert "(filas 4–15, columnas" in big and "de 20×20)" in big
    for text in (fc, grad, loss, big):
        assert not english_left(text), text


def test_worker_threads_and_the_timer_see_the_apps_language(trace):
    """i18n's language is module-global: a worker thread reads the app's, and it is restored."""

    async def check(app, pilot):
        worker = app.run_worker(lambda: (i18n.current_language(), i18n._("stages")), thread=True)
        await worker.wait()
        assert worker.result == ("es", "etapas")

    assert i18n.current_language() == "en"
    drive(trace, check=check)
    assert i18n.current_language() == "en"  # the run put English back
    english = drive(trace, check=None, lang="en")
    assert english.lang == "en"


def test_lang_none_takes_the_current_language(trace):
    with i18n.language("es"):
        assert LiveApp(trace).lang == "es"
    assert LiveApp(trace).lang == "en"
    with pytest.raises(ValueError, match="must be one of"):
        LiveApp(trace, lang="fr")


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({"LANG": "es_ES.UTF-8"}, (), "es"),
        ({"LANG": "C.UTF-8"}, ("--lang", "es"), "es"),
        ({"LANG": "es_ES.UTF-8"}, ("--lang", "en"), "en"),
        ({"LANG": "C.UTF-8"}, (), "en"),
    ],
)
def test_convtrace_live_runs_the_app_in_the_chosen_language(invoke, monkeypatch, env, args,
                                                            expected):  # fmt: skip
    import convtrace.cli.live as live_cli

    ran = []

    def run(self, **kwargs):
        ran.append((self.lang, i18n.current_language(), i18n._("stages")))

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(live_cli, "in_a_terminal", lambda: True)
    monkeypatch.setattr(LiveApp, "run", run)
    result = invoke("live", "--seed", "42", *args)
    assert result.exit_code == 0, result.output
    assert ran == [(expected, expected, "etapas" if expected == "es" else "stages")]
    assert i18n.current_language() == "en"


def test_live_refuses_a_pipe_in_spanish(invoke):
    result = invoke("live", "--seed", "42", "--lang", "es")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: convtrace live necesita una terminal (stdin y stdout); en una tubería usa "
        "convtrace run"
    )
