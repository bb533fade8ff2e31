"""What every full-screen view has: the top bar, a body, the footer of its keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget

from ..widgets import TopBar
from ..widgets.keys_footer import KeysFooter
from .reporting import ReportsWorkerErrors

__all__ = ["ViewScreen"]


class ViewScreen(ReportsWorkerErrors, Screen[None]):
    BINDINGS = [Binding("escape", "back", "Back")]

    # Textual repaints the whole screen when focus moves (``Screen.focused`` is a
    # repainting reactive), though the widgets whose focus styles change are refreshed by
    # the stylesheet on their own. A tab switch moves focus to the tab's widget, and that
    # full repaint of every widget was most of the switch: the event loop stalled 40-50 ms
    # on each (bench/tui_responsiveness.py, even beside a quiet run).
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def crumbs(self) -> tuple[str, ...]:
        return ()

    def compose(self) -> ComposeResult:
        yield TopBar(*self.crumbs(), url=self.tapp.url)
        yield from self.compose_body()
        yield KeysFooter(compact=True, show_command_palette=False)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def set_crumbs(self) -> None:
        self.query_one(TopBar).crumbs = self.crumbs()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return len(self.app.screen_stack) > 1
        return True

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
