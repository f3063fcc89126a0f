"""The Textual app, driven headless by Textual's Pilot: keys, animation steps, every footer key,
and a text snapshot of the first screen at 100×30 (regenerate with CONVTRACE_UPDATE_SNAPSHOTS=1).
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convtrace.explain.cell import explain_cell
from convtrace.live.app import SPEEDS, screen_text
from convtrace.live.keys import KEYS, HelpScreen, footer_text
from convtrace.live.source import animation_for
from convtrace.live.widgets import CellView

from .driver import drive, matches_snapshot

SNAPSHOT = Path(__file__).parent / "snapshots" / "first_screen_100x30.txt"
CONV_OUT = ["j"] * 5  # input, conv.weight, conv.bias, conv.cols, conv.weight_rows, conv.out


def test_opens_on_input_with_the_list_focused(trace):
    async def check(app, pilot):
        assert app.stage.name == "input" and app.cursor == (0, 0, 0, 0)
        text = screen_text(app)
        assert "input  (1, 1, 6, 6)" in text and "[7]" in text  # the cursor on x[0,0,0,0] = 7
        assert "No sum to show for input" in text  # explain covers no input cell: said plainly

    drive(trace, check=check)


def test_first_screen_snapshot_at_100x30(trace):
    async def check(app, pilot):
        text = screen_text(app) + "\n"
        matches_snapshot(text, SNAPSHOT)
        assert len(text.splitlines()) == 30 and max(map(len, text.splitlines())) <= 100

    drive(trace, check=check)


def test_arrow_keys_move_the_cursor_and_the_explanation_follows(trace):
    async def check(app, pilot):
        assert app.stage.name == "conv.out" and isinstance(app.focused, CellView)
        seen = []
        moves = (
            ("right", (0, 0, 0, 1)),
            ("down", (0, 0, 1, 1)),
            ("right_square_bracket", (0, 1, 1, 1)),
            ("left", (0, 1, 1, 0)),
            ("up", (0, 1, 0, 0)),
            ("left_square_bracket", (0, 0, 0, 0)),
        )
        for key, expected in moves:
            await pilot.press(key)
            await pilot.pause()
            assert app.cursor == expected, key
            e = explain_cell(trace, "conv.out", expected)
            text = screen_text(app)
            assert f"{e.cell} = {e.value:g}" in text, key
            seen.append(text)
        assert len(set(seen)) == len(seen)

    drive(trace, [*CONV_OUT, "enter"], check=check)


def test_an_animation_step_advances_exactly_one_window(trace):
    frames = animation_for(trace, "conv.out").frames

    async def check(app, pilot):
        assert app.frame == 0 and "window 1/16" in screen_text(app)
        for k in (1, 2, 3):
            await pilot.press("full_stop")
            await pilot.pause()
            assert app.frame == k and app.cursor == frames.index(k)
            assert f"window {k + 1}/16" in screen_text(app)
        await pilot.press("comma")
        await pilot.pause()
        assert app.frame == 2 and "window 3/16" in screen_text(app)

    drive(trace, [*CONV_OUT, "enter", "full_stop"], check=check)


def test_space_on_conv_out_plays_the_16_windows_in_order(trace):
    ours = trace["conv.out"].values
    shown = []

    async def check(app, pilot):
        original = app.show_frame

        def record(frame):
            shown.append(frame)
            original(frame)

        app.show_frame = record
        app.speed = len(SPEEDS) - 1  # the fastest
        await pilot.press("space")
        for _ in range(100):
            await pilot.pause(0.05)
            if not app.playing:
                break
        assert not app.playing and app.frame == 15
        assert "window 16/16" in screen_text(app)

    drive(trace, [*CONV_OUT, "enter"], check=check)
    assert sorted(set(shown)) == list(range(16)) and shown == sorted(shown)
    frames = animation_for(trace, "conv.out").frames
    for k in range(16):
        frame = frames[k]
        assert frame.index == (0, 0, k // 4, k % 4)
        assert frame.running[-1] + frame.bias == pytest.approx(float(ours[frame.index]))


def test_grad_input_touch_counts_match_explains_term_counts(trace):
    async def check(app, pilot):
        assert app.stage.name == "grad.input" and app.animation.kind == "col2im"
        for _ in range(40):  # more presses than windows: the last one stays
            await pilot.press("full_stop")
        await pilot.pause()
        assert app.frame == 31
        frame = app.animation.frames[app.frame]
        _, touches = frame.inside(app.animation.geometry.pads)
        for r, q in np.ndindex(*touches.shape):
            assert touches[r, q] == len(explain_cell(trace, "grad.input", (0, 0, r, q)).terms)
        text = screen_text(app)
        assert "windows touching each pixel" in text and "window 32/32" in text

    drive(trace, [*(["j"] * len(trace)), "enter", "full_stop"], check=check)


def test_every_key_in_the_footer_does_what_it_says(trace):
    in_list, in_grid = footer_text(100, in_grid=False).plain, footer_text(100, in_grid=True).plain
    for keys, what, _ in KEYS:  # each key is offered in the view where it acts, only there
        assert f"{keys} {what}" in in_list + in_grid, keys
    assert "↑↓jk" not in in_grid and "⏎" not in in_grid  # the list's keys do nothing there
    assert "←→↑↓" not in in_list and "esc" not in in_list and "[]" not in in_list
    pressed = set()

    async def press(pilot, key):
        pressed.add(key)
        await pilot.press(key)
        await pilot.pause()

    async def check(app, pilot):
        for key, index in (("down", 1), ("j", 2), ("up", 1), ("k", 0)):  # ↑↓jk move
            await press(pilot, key)
            assert app.stage_index == index, key
        for _ in range(5):
            await pilot.press("j")
        await press(pilot, "enter")  # ⏎ open
        assert app.stage.name == "conv.out" and isinstance(app.focused, CellView)
        await press(pilot, "right")  # ←→↑↓ cell
        assert app.cursor == (0, 0, 0, 1)
        await press(pilot, "left")
        assert app.cursor == (0, 0, 0, 0)
        await press(pilot, "down")
        assert app.cursor == (0, 0, 1, 0) and app.stage.name == "conv.out"
        await press(pilot, "up")
        assert app.cursor == (0, 0, 0, 0)
        await pilot.press("j")  # j / k move the cell cursor in the grid, as ↓ / ↑
        await pilot.pause()
        assert app.cursor == (0, 0, 1, 0) and app.stage.name == "conv.out"
        await pilot.press("k")
        await pilot.pause()
        box = app.query_one("#explainbox")
        await press(pilot, "pagedown")  # PgUp/Dn sum: the side panel scrolls
        assert box.scroll_y > 0 or box.max_scroll_y == 0
        await press(pilot, "pageup")
        assert box.scroll_y == 0
        await press(pilot, "right_square_bracket")  # [] slice
        assert app.cursor == (0, 1, 0, 0)
        await press(pilot, "left_square_bracket")
        assert app.cursor == (0, 0, 0, 0)
        await press(pilot, "t")  # t torch
        assert app.torch and "ours − torch" in screen_text(app)
        await press(pilot, "t")
        assert not app.torch and "ours − torch" not in screen_text(app)
        await press(pilot, "space")  # space play
        assert app.playing and app.frame == 0
        await press(pilot, "space")
        assert not app.playing
        frame = app.frame
        await press(pilot, "full_stop")  # ., step
        assert app.frame == frame + 1
        await press(pilot, "comma")
        assert app.frame == frame
        speed = app.speed
        await press(pilot, "plus")  # +- speed
        assert app.speed == speed + 1
        await press(pilot, "minus")
        assert app.speed == speed
        await press(pilot, "escape")  # esc back: out of the animation, then to the list
        assert app.frame is None and isinstance(app.focused, CellView)
        await press(pilot, "escape")
        assert app.focused is app.query_one("#stages")
        await press(pilot, "u")  # u SGD: this trace has no --lr, so it says how
        assert "--lr" in screen_text(app) and app.stage.name == "conv.out"
        await press(pilot, "question_mark")  # ? keys
        assert isinstance(app.screen, HelpScreen) and "the keys" in screen_text(app)
        await pilot.press("x")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await press(pilot, "q")  # q quit

    app = drive(trace, check=check)
    assert app.return_code == 0 and not app.is_running
    assert pressed == {k for _, _, keys in KEYS for k in keys}


def test_80x24_shows_the_essentials_and_never_crashes(trace):
    async def check(app, pilot):
        text = screen_text(app)
        lines = text.splitlines()
        assert len(lines) == 24 and max(map(len, lines)) <= 80
        assert "? keys" in lines[-1] and "q quit" in lines[-1]
        assert "conv.out[0,0,0,0] = " in text  # the explanation panel is still there
        for key in [
            "space",
            "full_stop",
            "escape",
            "t",
            "escape",
            *(["j"] * 25),
            "enter",
            "full_stop",
        ]:
            await pilot.press(key)
        await pilot.pause()
        assert "windows touching each pixel" in screen_text(app)

    drive(trace, [*CONV_OUT, "enter"], size=(80, 24), check=check)


def test_stages_explain_does_not_cover_say_so(trace):
    async def check(app, pilot):
        assert app.stage.name == "pool.argmax"
        assert "No sum to show for pool.argmax" in screen_text(app)
        await pilot.press("full_stop")
        await pilot.pause()
        assert app.frame is None and "pool.argmax has no animation" in screen_text(app)

    drive(trace, ["j"] * trace.names.index("pool.argmax"), check=check)


def test_fc_out_is_explained_beside_its_grid(trace):
    async def check(app, pilot):
        assert app.stage.name == "fc.out"
        text = screen_text(app)
        assert "No sum to show" not in text and "bias 1 = 18" in text, text

    drive(trace, ["j"] * trace.names.index("fc.out"), check=check)


def test_no_color_keeps_the_marks_in_the_text(trace, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def check(app, pilot):
        assert app.no_color
        assert "[7]" in screen_text(app)
        svg = app.export_screenshot()
        from convtrace.render.console import BLUE

        assert BLUE not in svg.lower()  # no heat colour survives NO_COLOR

    drive(trace, check=check)


def test_a_net_network_opens_and_animates():
    from convtrace.scenario.build import build_scenario
    from convtrace.scenario.spec import ScenarioSpec
    from convtrace.tracing.pipeline import run_pipeline

    spec = ScenarioSpec(net="conv(2,3) relu maxpool(2) conv(3,2,padding=1) fc(2)", height=9,
                        width=9, loss="ce", classes=2)  # fmt: skip
    trace = run_pipeline(build_scenario(spec), backward=True)
    names = trace.names

    async def check(app, pilot):
        for name in ("conv2.out", "pool.out", "grad.pool.out", "grad.input"):
            await pilot.press(*(["k"] * len(names)), *(["j"] * names.index(name)))
            await pilot.press("enter", "full_stop", "full_stop", "right")
            await pilot.pause()
            assert app.stage.name == name and app.frame == 1, name
            await pilot.press("escape", "escape")  # out of the animation, back to the list
            await pilot.pause()
            assert app.focused is app.query_one("#stages")

    drive(trace, check=check)


def test_live_refuses_a_pipe_with_one_line(invoke):
    result = invoke("live", "--seed", "42")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("Error: convtrace live needs a terminal")


def test_help_never_imports_textual_or_torch():
    code = (
        "import sys\n"
        "from convtrace.cli.main import app\n"
        "for args in (['--help'], ['live', '--help']):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "sys.exit(3 if {'textual', 'torch'} & {m.split('.')[0] for m in sys.modules} else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_loss_is_explained_too(trace):
    async def check(app, pilot):
        assert app.stage.name == "loss"
        text = screen_text(app)
        assert "No sum to show" not in text and "loss = " in text and "bce(z[0,0]" in text, text

    drive(trace, ["j"] * trace.names.index("loss"), check=check)


def test_a_transposed_conv_animates_its_scatter_naming_input_and_output():
    from convtrace.scenario.build import build_scenario
    from convtrace.scenario.spec import ScenarioSpec
    from convtrace.tracing.pipeline import run_pipeline

    spec = ScenarioSpec(net="conv(2,3,stride=2) convT(1,3,stride=2,output_padding=1)",
                        height=8, width=8, loss="mse")  # fmt: skip
    trace = run_pipeline(build_scenario(spec), backward=True)
    names = trace.names

    async def check(app, pilot):
        await pilot.press(*(["k"] * len(names)), *(["j"] * names.index("convt.out")))
        await pilot.press("enter", "full_stop", "full_stop", "right")
        await pilot.pause()
        assert app.stage.name == "convt.out" and app.frame == 1
        screen = screen_text(app)
        assert "input: conv.out (the small map) → output: convt.out (the big map)" in screen
        assert "kernel copies landing on each cell" in screen

    drive(trace, check=check)
