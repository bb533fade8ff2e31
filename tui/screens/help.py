"""``?``: every key of the view you were on, and how the app behaves."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from .dialog import Dialog

__all__ = ["HelpScreen", "key_table"]

ABOUT = """\
Trainyard follows the server live (server-sent events): nothing here polls.
If the server goes away, the top line turns red and says so; what is on screen
stays, and the app reconnects by itself, resuming every stream where it stopped.
If the server refuses the token (or is too old for this app), the top line turns
red and a screen says how to fix it; paste a working token there to carry on.
Mouse: click rows, tabs and footer keys; the wheel scrolls (scrolling the log up
pauses following). Colours: run with --ansi to use your terminal's own palette,
or set NO_COLOR; every status also has its own glyph (▶ ✔ ✖ ■ ‖ ◌)."""


def key_table(screen: Screen[object]) -> Table:
    """The view's own keys and the app's, as the footer would show them, hidden ones too."""
    keys: dict[str, list[str]] = {}
    descriptions: dict[str, str] = {}
    for namespace, bindings in screen._modal_binding_chain:
        if namespace is not screen and namespace is not screen.app:
            continue  # the focused widget's own keys (arrows, paging): standard
        for _, binding in bindings:
            if binding.system or "copy_text" in binding.action or binding.key in (
                    "tab", "shift+tab"):
                continue
            if screen.app._check_action_state(binding.action, namespace) is False:
                continue  # not available here now (hidden from the footer too)
            label = binding.key_display or screen.app.get_key_display(binding)
            if label not in keys.setdefault(binding.action, []):
                keys[binding.action].append(label)
            descriptions.setdefault(binding.action, binding.description or binding.action)
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for action, labels in keys.items():
        table.add_row(", ".join(labels), descriptions[action])
    return table


class HelpScreen(Dialog[None]):
    BINDINGS = [Binding("question_mark", "close", "Close", key_display="?"),
                Binding("q", "close", "Close", show=False)]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose_dialog(self) -> ComposeResult:
        with VerticalScroll(classes="dialog dialog-wide"):
            yield Static(f"Keys · {type(self.under).__name__.removesuffix('Screen')} view",
                         classes="dialog-title")
            yield Static(key_table(self.under))
            guide = getattr(self.under, "GUIDE", "")
            if guide:
                yield Static(Text(guide), classes="dialog-text")
            yield Static(Text(ABOUT, style="dim"), classes="dialog-text")
            yield Static(Text("esc or ? closes this help", style="italic"))
