"""``convtrace live``: the trace as a full-screen Textual app (imported only when live runs).

Left, every stage (forward then backward) with its verdict; ↑/↓ or j/k move, Enter opens.
Main, the stage: header (name, shape, axes, formula, verdict), the slice holding the cell
cursor (arrows move it, [ ] change slice, t adds torch's grid and the difference), and beside it
the cursor cell's explanation as its sum. space / . / , / + / - animate conv.out, pool.out and
grad.input window by window (frames from ``frames.py``). ? lists the keys, q quits.

Every word on screen goes through ``_()`` when it is drawn, so the app speaks the language it
runs in: ``lang`` (``es`` | ``en``), else the one current when it is made (``convtrace live``
runs under ``--lang`` / LANG). The language is i18n's module-global choice, so timers, tasks and
worker threads all see it; the app sets it for its run and puts the previous one back after.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import replace

from rich.console import Group
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, ListItem, ListView, Static

from ..i18n import N_, _, current_language, language, resolve_language
from ..render.console import THEME
from ..render.heading import scenario_heading
from . import anim_views
from .source import animation_for
from .views import cursor_line, explanation_panel, moved, stage_grids, stage_header

#: Animation speeds, windows per second.
SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
DEFAULT_SPEED = 2

#: Every key: (keys as shown, what it does (English, translated when drawn), key names to press
#: in a test). The footer shows the first ones that fit; ? shows all.
KEYS = (
    ("↑↓jk", N_("move"), ("down", "j", "up", "k")),
    ("⏎", N_("open"), ("enter",)),
    ("←→", N_("cell"), ("right", "left")),
    ("[]", N_("slice"), ("right_square_bracket", "left_square_bracket")),
    ("t", "torch", ("t",)),  # a name: the same in every language
    ("space", N_("play"), ("space",)),
    (".,", N_("step"), ("full_stop", "comma")),
    ("+-", N_("speed"), ("plus", "minus")),
    ("esc", N_("back"), ("escape",)),
    ("?", N_("keys"), ("question_mark",)),
    ("q", N_("quit"), ("q",)),
)
#: The keys the footer keeps on a narrow terminal (the rest are under ?).
ESSENTIAL = ("↑↓jk", "⏎", "space", "t", "?", "q")
#: Keys that only act in the grid (not shown while the stage list has the focus).
GRID_ONLY = ("←→", "[]", "esc")

HELP = N_("""\
[b]convtrace live[/b] — the keys

[b]Stage list[/b] (left)
  ↑ ↓  or  j k     previous / next stage (the main view follows)
  Enter            open the stage: the arrow keys then move the cell cursor

[b]Stage view[/b] (main)
  ← → ↑ ↓          move the cell cursor; the side panel explains that cell
  [  ]             previous / next slice (e.g. the next filter f)
  t                show torch's grid and the difference ours − torch (again: hide)
  Esc              back to the grid (from an animation), then to the stage list

[b]Animation[/b] (conv.out, pool.out, grad.input: the cursor's slice)
  space            play / pause, window by window
  .  ,             one window forward / back
  +  -             faster / slower

  ?                this help (any key closes it)
  q                quit
""")


def footer_text(width: int, in_grid: bool) -> Text:
    """The keys that fit ``width`` (the essential ones first when narrow), in the current
    language."""
    entries = [(k, _(w)) for k, w, _keys in KEYS if in_grid or k not in GRID_ONLY]
    line = Text(no_wrap=True, overflow="crop")
    used = 1 + sum(len(k) + len(w) + 2 for k, w in entries if k in ESSENTIAL)
    chosen = []
    for keys, what in entries:  # the essential keys always, the others while they fit
        cost = len(keys) + len(what) + 2
        if keys in ESSENTIAL or used + cost <= width:
            chosen.append((keys, what))
            used += 0 if keys in ESSENTIAL else cost
    line.append(" ")
    for keys, what in chosen:
        line.append(keys, style="bold reverse")
        line.append(f" {what} ")
    return line


def translate_bindings(node) -> None:
    """Textual copies a class's BINDINGS into each widget as it is made, and its key panel
    (ctrl+p, then Keys) shows those copies' descriptions: put them in the current language
    (the classes mark them ``N_()``). Textual's own descriptions have no entry and stay."""
    node._bindings = BindingsMap.from_keys(
        {
            key: [replace(b, description=_(b.description)) for b in bindings]
            for key, bindings in node._bindings.key_to_bindings.items()
        }
    )


class StageList(ListView):
    """The stages; j / k move like ↓ / ↑."""

    BINDINGS = [
        Binding("j", "cursor_down", N_("next stage"), show=False),
        Binding("k", "cursor_up", N_("previous stage"), show=False),
    ]

    def __init__(self, *items, **kwargs):
        super().__init__(*items, **kwargs)
        translate_bindings(self)

    def on_focus(self) -> None:
        self.app.redraw_keys()


class CellView(Static, can_focus=True):
    """The stage's grid; arrows move the cell cursor when focused."""

    BINDINGS = [
        Binding("up", "move(-1, 0, 0)", show=False),
        Binding("down", "move(1, 0, 0)", show=False),
        Binding("left", "move(0, -1, 0)", show=False),
        Binding("right", "move(0, 1, 0)", show=False),
        Binding("left_square_bracket", "move(0, 0, -1)", show=False),
        Binding("right_square_bracket", "move(0, 0, 1)", show=False),
        Binding("escape", "back", show=False),
    ]

    def on_focus(self) -> None:
        self.app.redraw_keys()

    def action_move(self, d_row: int, d_col: int, d_slice: int) -> None:
        self.app.move_cursor(d_row, d_col, d_slice)

    def action_back(self) -> None:
        self.app.back()


class Panel(VerticalScroll, can_focus=False):
    """A scrolling box that never takes the focus (the keys belong to the list and the grid)."""


class HelpScreen(ModalScreen):
    """Every key; any key closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static { width: auto; max-width: 90%; height: auto; max-height: 90%;
                          border: round $accent; padding: 0 2; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        yield Static(_(HELP), id="help")

    def on_key(self, event) -> None:
        event.stop()
        self.dismiss()


class LiveApp(App):
    """One trace, explored stage by stage and cell by cell. ``precision``: as ``run``."""

    TITLE = "convtrace live"
    CSS = """
    Screen { layout: vertical; }
    #heading { height: 1; text-style: bold; content-align: center middle; width: 100%; }
    #body { height: 1fr; }
    #stages { width: 24; border: round $primary; }
    #stages:focus { border: round $accent; }
    #main { width: 1fr; padding: 0 1; }
    #header { height: auto; }
    #status { height: 1; }
    #work { height: 1fr; }
    #gridbox { width: 1fr; }
    #cells { width: 100%; }
    #explainbox { width: 40; border-left: vkey $primary; padding: 0 0 0 1; }
    #keys { height: 1; dock: bottom; }
    """
    BINDINGS = [
        Binding("q", "quit", N_("quit")),
        Binding("question_mark", "help", N_("keys")),
        Binding("t", "toggle_torch", "torch"),
        Binding("space", "play", N_("play")),
        Binding("full_stop", "step(1)", N_("step")),
        Binding("comma", "step(-1)", N_("back")),
        Binding("plus", "speed(1)", N_("faster")),
        Binding("minus", "speed(-1)", N_("slower")),
    ]

    def __init__(self, trace, precision: int = 4, lang: str | None = None):
        super().__init__()
        #: es | en: ``lang`` resolved (a ValueError names a language we lack), else the
        #: language current now (under ``convtrace live``, what --lang / LANG chose).
        self.lang = current_language() if lang is None else resolve_language(lang)
        with language(self.lang):
            translate_bindings(self)
        self.console.push_theme(THEME)  # the ct.* styles of convtrace's renderables
        self.trace, self.precision = trace, precision
        self.stage_index = 0
        self.cursor: tuple[int, ...] = ()
        self.torch = False
        self.animation = None
        self.frame: int | None = None
        self.frames_range: range | None = None
        self.playing = False
        self.speed = DEFAULT_SPEED
        self._timer = None
        self.message = ""
        self._select(0)

    # ------------------------------------------------------------------ language
    async def run_async(self, **kwargs):
        """``App.run`` comes here too: the whole run (every redraw, timer, task and worker
        thread) reads ``self.lang``; the language before it is current again after."""
        with language(self.lang):
            return await super().run_async(**kwargs)

    @asynccontextmanager
    async def run_test(self, **kwargs):
        """Textual's headless run for tests, in ``self.lang`` as ``run_async``."""
        with language(self.lang):
            async with super().run_test(**kwargs) as pilot:
                yield pilot

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static(scenario_heading(self.trace.scenario), id="heading")
        with Horizontal(id="body"):
            items = [ListItem(Label(self._item_text(s))) for s in self.trace]
            stages = StageList(*items, id="stages", initial_index=0)
            stages.border_title = _("stages")
            yield stages
            with Vertical(id="main"):
                yield Static(id="header")
                with Horizontal(id="work"):
                    with Panel(id="gridbox"):
                        yield CellView(id="cells")
                    with Panel(id="explainbox"):
                        yield Static(id="explain")
                yield Static(id="status")
        yield Static(id="keys")

    def _item_text(self, stage) -> Text:
        agrees = stage.agrees(self.trace.tolerance)
        mark = ("·", "ct.dim") if agrees is None else ("✓", "ct.ok") if agrees else ("✗", "ct.bad")
        return Text.assemble(mark, " ", stage.name)

    def on_mount(self) -> None:
        self.query_one(StageList).focus()
        self._layout_widths()
        self.redraw()

    def on_resize(self, event) -> None:
        self._layout_widths()
        self.redraw()

    def _layout_widths(self) -> None:
        """Narrower side columns on a small terminal; no explanation during an animation."""
        width = self.size.width
        self.query_one("#stages").styles.width = 24 if width >= 90 else 22
        box = self.query_one("#explainbox")
        box.styles.width = 40 if width >= 100 else 28
        box.display = self.frame is None

    @property
    def grid_width(self) -> int:
        """Columns for the grids: the screen minus the list, the side panel and the margins."""
        width = self.size.width or 100
        stages = 24 if width >= 90 else 22
        side = 0 if self.frame is not None else 40 if width >= 100 else 28
        return max(20, width - stages - side - 4)

    # ------------------------------------------------------------------ state
    @property
    def stage(self):
        return self.trace.stages[self.stage_index]

    def _select(self, index: int) -> None:
        self.stop_animation()
        self.stage_index = index
        self.cursor = tuple(0 for _ in self.stage.shape)
        self.animation = animation_for(self.trace, self.stage.name)

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        index = event.list_view.index
        if index is not None and index != self.stage_index:
            self._select(index)
            self.message = ""
            self.redraw()

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if event.list_view.index != self.stage_index:
            self._select(event.list_view.index)
        self.query_one(CellView).focus()
        self.message = _("arrows move the cell cursor · esc: back to the stages")
        self.redraw()

    def move_cursor(self, d_row: int, d_col: int, d_slice: int) -> None:
        self.cursor = moved(self.stage.shape, self.cursor, d_row, d_col, d_slice)
        self.redraw()

    def back(self) -> None:
        if self.frame is not None:
            self.stop_animation()
            self.frame = None
            self._layout_widths()
            self.message = _("animation closed")
            self.redraw()
        else:
            self.query_one(StageList).focus()

    # ------------------------------------------------------------------ animation
    def _need_animation(self) -> bool:
        if self.animation is None:
            self.message = _(
                "{stage} has no animation (conv.out, pool.out and grad.input have)"
            ).format(stage=self.stage.name)
            self.redraw()
            return False
        return True

    def _start(self) -> None:
        if self.frame is None:
            self.frames_range = self.animation.slice_range(self.cursor)
            self.frame = self.frames_range.start
            self._layout_widths()

    def show_frame(self, frame: int) -> None:
        self.frame = frame
        if self.animation.kind in ("conv", "pool"):  # the cursor is the cell being filled in
            self.cursor = self.animation.frames.index(frame)
        self.redraw()

    def action_play(self) -> None:
        if not self._need_animation():
            return
        if self.frame is None:
            self._start()
        elif self.frame == self.frames_range[-1] and not self.playing:
            self.frame = self.frames_range.start  # at the end: play again from the start
        self.playing = not self.playing
        self._restart_timer()
        self.show_frame(self.frame)

    def action_step(self, delta: int) -> None:
        if not self._need_animation():
            return
        self.playing = False
        self._restart_timer()
        if self.frame is None:
            self._start()
            self.show_frame(self.frame)
            return
        r = self.frames_range
        self.show_frame(min(max(self.frame + delta, r.start), r[-1]))

    def action_speed(self, delta: int) -> None:
        self.speed = min(max(self.speed + delta, 0), len(SPEEDS) - 1)
        self._restart_timer()
        self.message = _("speed {speed:g} windows/s").format(speed=SPEEDS[self.speed])
        self.redraw()

    def tick(self) -> None:
        if self.frame is None or self.frames_range is None:
            return
        if self.frame >= self.frames_range[-1]:
            self.playing = False
            self._restart_timer()
            self.redraw()
            return
        self.show_frame(self.frame + 1)

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.playing and self.is_running:
            self._timer = self.set_interval(1 / SPEEDS[self.speed], self.tick)

    def stop_animation(self) -> None:
        self.playing = False
        self._restart_timer()
        self.frame = None
        self.frames_range = None

    # ------------------------------------------------------------------ other keys
    def action_toggle_torch(self) -> None:
        self.torch = not self.torch
        self.message = _("torch's grid and ours − torch shown") if self.torch else ""
        self.redraw()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        if not self.is_mounted_app:
            return
        stage, p = self.stage, self.precision
        position = _("stage {index}/{total}").format(
            index=self.stage_index + 1, total=len(self.trace)
        )
        header = stage_header(stage, self.trace, position, compact=self.frame is not None)
        self.query_one("#header", Static).update(header)
        self.query_one("#cells", Static).update(self._main_view())
        if self.frame is None:
            explain = explanation_panel(self.trace, stage, self.cursor, p)
            self.query_one("#explain", Static).update(explain)
        self.query_one("#status", Static).update(self._status())
        self.redraw_keys()

    @property
    def is_mounted_app(self) -> bool:
        try:
            self.query_one("#header")
        except Exception:
            return False
        return True

    def redraw_keys(self) -> None:
        if self.is_mounted_app:
            in_grid = isinstance(self.focused, CellView)
            self.query_one("#keys", Static).update(footer_text(self.size.width, in_grid))

    def _status(self) -> Text:
        if self.frame is not None:
            r = self.frames_range
            line = anim_views.progress(
                self.frame - r.start + 1, len(r), self.playing, SPEEDS[self.speed]
            )
            line.append("   " + _("esc: back to the grid"), style="ct.dim")
            return line
        line = cursor_line(self.stage, self.cursor, self.precision)
        if self.message:
            line.append(("   " if line.plain else "") + self.message, style="ct.dim")
        return line

    def _main_view(self):
        stage, p = self.stage, self.precision
        if self.frame is None:
            return stage_grids(stage, self.cursor, p, torch=self.torch, width=self.grid_width)
        a = self.animation
        frame = a.frames[self.frame]
        if a.kind == "conv":
            view = anim_views.conv_view(frame, a.frames.padded, a.geometry, p)
        elif a.kind == "pool":
            source = self.trace.layer(a.layer).in_stage
            view = anim_views.pool_view(frame, a.frames.map, a.geometry, a.frames.op, source, p)
        else:
            channel = self.cursor[1] if len(self.cursor) > 1 else 0
            view = anim_views.col2im_view(frame, a.geometry, channel, p)
        return Group(view)


def screen_text(app: App) -> str:
    """The app's current screen as plain text (what a snapshot compares), one line a row."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False
    )
    console.print(app.screen._compositor.render_update(full=True))
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())
