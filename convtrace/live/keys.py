"""The live view's keys: the list (footer and ``?``), the help screen, and the binding
descriptions put in the current language."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingsMap
from textual.screen import ModalScreen
from textual.widgets import Static

from ..i18n import N_, _

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
    ("u", "SGD", ("u",)),  # a name: the same in every language
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

[b]Learning[/b] (convtrace live --lr η)
  u                one SGD step: every stage recomputed with the new weights,
                   the loss before → after

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
