"""Issue 23: the live view at 100×30 and 80×24, in English and Spanish: nothing cut, the footer
offers only keys that act in the focused view, the side panel puts the result first (naming the
cell) and scrolls, and grids use the width they have."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len

from convtrace.live.app import screen_text
from convtrace.scenario.spec import ScenarioSpec
from convtrace.scenario.toml_file import spec_from_values
from convtrace.tracing.run import compute_trace
from tests.live.driver import drive

SIZES = [(100, 30), (80, 24)]
LANGS = ["en", "es"]
SEED = {"en": "seed 42", "es": "semilla 42"}


@pytest.fixture(scope="module")
def relu_trace():
    trace = compute_trace(ScenarioSpec(activation="relu"))
    STAGE_NAMES.update(trace.names)
    return trace


@pytest.fixture(scope="module")
def lenet():
    trace = compute_trace(spec_from_values({"scenario": "examples/lenet.toml"}, {"scenario"}))
    STAGE_NAMES.update(trace.names)
    return trace


def nothing_cut(text: str, width: int, height: int, lang: str) -> list[str]:
    lines = text.splitlines()
    assert len(lines) == height and max(cell_len(line) for line in lines) <= width
    assert SEED[lang] in text  # the heading is whole (wrapped, never cut)
    for line in lines[-3:]:  # status and footer: shortened or wrapped, never "…"-cut
        assert not line.rstrip().endswith("…"), line
    names = [m.group(1) for line in lines if (m := re.match(r"│[✓✗·] (\S+)", line))]
    assert names and all(name in STAGE_NAMES for name in names), names  # whole names
    return lines


STAGE_NAMES: set[str] = set()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_list_and_grid_views_fit_and_offer_only_their_keys(relu_trace, size, lang):
    to_conv = ["j"] * relu_trace.names.index("conv.out")

    async def check(app, pilot):
        listing = nothing_cut(screen_text(app), *size, lang)
        footer = listing[-1]
        assert "↑↓jk" in footer and "⏎" in footer and "esc" not in footer
        await pilot.press("enter")
        await pilot.pause()
        grid = nothing_cut(screen_text(app), *size, lang)
        footer = grid[-1]
        assert "↑↓jk" not in footer and "⏎" not in footer
        assert "esc" in footer and "←→↑↓" in footer
        if lang == "es":
            assert "space" not in footer and "espacio" in footer
            if size[0] >= 100:  # the whole Spanish footer at the projector's width
                for key in ("esc atrás", "+- velocidad", "[] corte", "., paso", "? teclas"):
                    assert key in footer, key
        # every key the footer offers in the grid moves something there: j / k included
        before = app.cursor
        await pilot.press("j")
        await pilot.pause()
        assert app.cursor != before and app.stage.name == "conv.out"

    drive(relu_trace, to_conv, size=size, lang=lang, check=check)


@pytest.mark.parametrize("lang", LANGS)
def test_the_side_panel_puts_the_result_first_and_names_the_cell(relu_trace, lang):
    to_act = ["j"] * relu_trace.names.index("act.out")

    async def check(app, pilot):
        text = screen_text(app)
        cell = "act.out[0,0,0,0]"
        top = text.index(f"{cell} = ")
        verdict = "equals the trace's" if lang == "en" else "es igual a"
        assert verdict in text[top:]
        # the verdict names the cell and comes before the terms
        check_line = text.index(verdict, top)
        assert cell in text[check_line : check_line + 120].replace("\n", "").replace("▏", "")
        first_term = text.find("1. ", top)
        assert first_term == -1 or check_line < first_term

    drive(relu_trace, to_act, lang=lang, check=check)


def test_pgdn_scrolls_a_long_sum_down_to_its_end(lenet):
    """conv2.out's cells are 150-term sums: the panel scrolls (it never takes the focus)."""
    to_conv2 = ["j"] * lenet.names.index("conv2.out")

    async def check(app, pilot):
        box = app.query_one("#explainbox")
        assert box.max_scroll_y > 0
        for _ in range(40):
            await pilot.press("pagedown")
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y
        assert "more term" in screen_text(app)  # the end of the list is reachable
        await pilot.press("pageup")
        await pilot.pause()
        assert box.scroll_y < box.max_scroll_y

    drive(lenet, to_conv2, check=check)


@pytest.mark.parametrize("size", SIZES)
def test_a_28x28_grid_uses_the_width_it_has(lenet, size):
    async def check(app, pilot):
        text = screen_text(app)
        nothing_cut(text, *size, "en")
        shown = re.search(r"cols (\d+)–(\d+) of 28×28", text)
        assert shown, text
        c0, c1 = map(int, shown.groups())
        columns = c1 - c0 + 1
        header = next(line for line in text.splitlines() if re.search(r"│\s+0\s+1\s+2", line))
        spare = size[0] - cell_len(header.rstrip())
        cell = 5  # "0.1234"-wide values need about this much: no further column would fit
        assert columns >= 8 and spare < cell + 24, (columns, spare)

    drive(lenet, size=size, check=check)
