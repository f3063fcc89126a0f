"""The live view's widgets: the stage list, the grid that holds the cell cursor, and a
scrolling panel that never takes the focus."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import ListView, Static

from ..i18n import N_
from .keys import translate_bindings


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
        Binding("k", "move(-1, 0, 0)", show=False),  # as in the list: j / k move too
        Binding("j", "move(1, 0, 0)", show=False),
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
