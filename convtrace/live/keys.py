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
#: in a test). The footer shows, of the keys that act in the focused view, the essential ones
#: and then the others while they fit; ? shows all. Key labels that are words are translated.
KEYS = (
    ("↑↓jk", N_("move"), ("down", "j", "up", "k")),
    ("⏎", N_("open"), ("enter",)),
    ("←→↑↓", N_("cell"), ("right", "left", "down", "up")),
    ("[]", N_("slice"), ("right_square_bracket", "left_square_bracket")),
    ("t", "torch", ("t",)),  # a name: the same in every language
    (N_("space"), N_("play"), ("space",)),
    (".,", N_("step"), ("full_stop", "comma")),
    ("+-", N_("speed"), ("plus", "minus")),
    ("PgUp/Dn", N_("sum"), ("pageup", "pagedown")),
    ("esc", N_("back"), ("escape",)),
    ("u", "SGD", ("u",)),  # a name: the same in every language
    ("?", N_("keys"), ("question_mark",)),
    ("q", N_("quit"), ("q",)),
)
#: Keys that act only in the stage list, and only in the grid (each view hides the other's).
LIST_ONLY = ("↑↓jk", "⏎")
GRID_ONLY = ("←→↑↓", "[]", "esc")
#: The keys the footer keeps on a narrow terminal, by view (the rest are under ?).
ESSENTIAL = {
    False: ("↑↓jk", "⏎", "space", "t", "?", "q"),
    True: ("←→↑↓", "space", "t", "esc", "?", "q"),
}

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
  PgUp PgDn        scroll the side panel (the cell's sum, term by term)

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


def footer_entries(in_grid: bool) -> list[tuple[str, str, str]]:
    """(key label as shown, what it does, the label's English) of the keys that act in the
    focused view (the grid's or the stage list's), in the current language."""
    hidden = LIST_ONLY if in_grid else GRID_ONLY
    return [(_(k), _(w), k) for k, w, _keys in KEYS if k not in hidden]


def footer_text(width: int, in_grid: bool) -> Text:
    """The keys that act in the focused view and fit ``width`` (the essential ones always),
    in the current language."""
    entries = footer_entries(in_grid)
    essential = ESSENTIAL[in_grid]
    line = Text(no_wrap=True, overflow="ellipsis")
    used = 1 + sum(len(k) + len(w) + 2 for k, w, english in entries if english in essential)
    chosen = []
    for keys, what, english in entries:  # the essential keys always, the others while they fit
        cost = len(keys) + len(what) + 2
        if english in essential or used + cost <= width:
            chosen.append((keys, what))
            used += 0 if english in essential else cost
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
