"""``convtrace live``: the trace as a full-screen Textual app (imported only when live runs).

Left, every stage (forward then backward) with its verdict; ↑/↓ or j/k move, Enter opens.
Main, the stage: header (name, shape, axes, formula, verdict), the slice holding the cell
cursor (arrows move it, [ ] change slice, t adds torch's grid and the difference), and beside it
the cursor cell's explanation as its sum. space / . / , / + / - animate conv.out, pool.out and
grad.input window by window (frames from ``frames.py``). u takes one SGD step (``--lr``): the
stages are recomputed in place from the new parameters. ? lists the keys, q quits.

Every word on screen goes through ``_()`` when it is drawn, so the app speaks the language it
runs in: ``lang`` (``es`` | ``en``), else the one current when it is made (``convtrace live``
runs under ``--lang`` / LANG). The language is i18n's module-global choice, so timers, tasks and
worker threads all see it; the app sets it for its run and puts the previous one back after.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from rich.console import Group
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ListItem, ListView, Static

from ..i18n import N_, _, current_language, language, resolve_language
from ..render.console import THEME
from ..render.heading import scenario_heading
from . import anim_views
from .keys import HelpScreen, footer_text, translate_bindings
from .source import animation_for
from .views import cursor_line, explanation_panel, moved, stage_grids, stage_header
from .widgets import CellView, Panel, StageList

#: Animation speeds, windows per second.
SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
DEFAULT_SPEED = 2


class LiveApp(App):
    """One trace, explored stage by stage and cell by cell. ``precision``: as ``run``."""

    TITLE = "convtrace live"
    CSS = """
    Screen { layout: vertical; }
    #heading { height: auto; text-style: bold; text-align: center; width: 100%; }
    #body { height: 1fr; }
    #stages { width: 24; border: round $primary; }
    #stages:focus { border: round $accent; }
    #main { width: 1fr; padding: 0 1; }
    #header { height: auto; }
    #status { height: auto; max-height: 3; }
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
        # priority: the stage list's own PgUp / PgDn would otherwise take them
        Binding("pageup", "scroll_sum(-1)", N_("scroll the sum up"), priority=True),
        Binding("pagedown", "scroll_sum(1)", N_("scroll the sum down"), priority=True),
        Binding("u", "sgd_step", N_("SGD step")),
    ]

    def __init__(self, trace, precision: int = 4, lang: str | None = None, sgd=None):
        super().__init__()
        #: the optimizer of ``u`` (a core.optim.SGD, from --lr), or None; steps taken so far
        self.sgd, self.steps_taken = sgd, 0
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
        """Narrower side columns on a small terminal; no side panel during an animation or for
        a stage that has no sum (data, a parameter, im2col's columns): the grid takes its
        width."""
        width = self.size.width
        self.query_one("#stages").styles.width = self.list_width
        box = self.query_one("#explainbox")
        box.styles.width = 40 if width >= 100 else 28
        box.display = self.side_panel

    @property
    def list_width(self) -> int:
        """The stage list: its longest name whole (mark, borders and scroll bar around it),
        between 22 and 28 columns (24 at least on a 90-column screen)."""
        longest = max(len(s.name) for s in self.trace)
        least = 24 if (self.size.width or 100) >= 90 else 22
        return min(max(longest + 7, least), 28)

    @property
    def side_panel(self) -> bool:
        """Whether the cursor cell's sum is shown beside the grid."""
        from ..explain.sums import explainable

        return self.frame is None and self.stage.name in explainable(self.trace.layers)

    @property
    def grid_width(self) -> int:
        """Columns for the grids: the screen minus the list, the side panel and the margins."""
        width = self.size.width or 100
        stages = self.list_width
        side = 40 if width >= 100 else 28 if self.side_panel else 0
        side = side if self.side_panel else 0
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
        self.message = _("←→↑↓ cell · esc: stages")
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
                "{stage} has no animation (conv.out, pool.out, grad.input and convt.out have)"
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

    def action_scroll_sum(self, direction: int) -> None:
        """PgUp / PgDn: the side panel's long sums (it never takes the focus)."""
        box = self.query_one("#explainbox")
        (box.scroll_page_down if direction > 0 else box.scroll_page_up)(animate=False)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_sgd_step(self) -> None:
        """Take the step the update.* stages show: every stage recomputed from the new
        parameters (with torch's values and the next step), the loss before → after."""
        if self.sgd is None or "update.loss" not in self.trace:
            self.message = _("start convtrace live with --lr η to take SGD steps (u)")
            self.redraw()
            return
        from ..tracing.update import next_step

        before = float(self.trace["loss"].values)
        self.trace = next_step(self.trace, self.sgd)
        self.steps_taken += 1
        after = float(self.trace["loss"].values)
        self.animation = animation_for(self.trace, self.stage.name)
        self.stop_animation()
        for item, stage in zip(self.query(ListItem), self.trace, strict=True):
            item.query_one(Label).update(self._item_text(stage))
        self.message = _("SGD step {k}: loss {before:.4g} → {after:.4g}").format(
            k=self.steps_taken, before=before, after=after
        )
        self.redraw()

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        if not self.is_mounted_app:
            return
        self._layout_widths()
        stage, p = self.stage, self.precision
        # where we are goes under the list (the header line keeps its width for the title)
        self.query_one("#stages").border_subtitle = f"{self.stage_index + 1}/{len(self.trace)}"
        header = stage_header(stage, self.trace, compact=self.frame is not None)
        self.query_one("#header", Static).update(header)
        self.query_one("#cells", Static).update(self._main_view())
        if self.side_panel:
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
        room = (self.size.width or 100) - self.list_width - 2
        if self.message:  # beside the cursor when both fit, else on a line of its own
            fits = line.cell_len + 3 + len(self.message) <= room
            line.append(("   " if fits else "\n") if line.plain else "")
            line.append(self.message, style="ct.dim")
        return line

    def _main_view(self):
        stage, p = self.stage, self.precision
        if self.frame is None:
            grids = stage_grids(stage, self.cursor, p, torch=self.torch, width=self.grid_width)
            if self.side_panel:
                return grids
            # no sum for this stage: say so under the grid, which has the whole width
            why = explanation_panel(self.trace, stage, self.cursor, p)
            return Group(grids, Text(""), why)
        a = self.animation
        frame = a.frames[self.frame]
        if a.kind == "conv":
            view = anim_views.conv_view(frame, a.frames.padded, a.geometry, p)
        elif a.kind == "pool":
            source = self.trace.layer(a.layer).in_stage
            view = anim_views.pool_view(frame, a.frames.map, a.geometry, a.frames.op, source, p)
        elif a.kind == "scatter":
            channel = self.cursor[1] if len(self.cursor) > 1 else 0
            layer = self.trace.layer(a.layer)
            view = anim_views.scatter_view(frame, a.geometry, channel, p, layer.in_stage,
                                           stage.name)  # fmt: skip
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
