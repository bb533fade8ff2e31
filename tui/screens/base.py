"""What every full-screen view has: the top bar, a body, the footer of its keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from ..widgets import TopBar
from ..widgets.keys_footer import KeysFooter
from .reporting import ReportsWorkerErrors

__all__ = ["ViewScreen"]


class ViewScreen(ReportsWorkerErrors, Screen[None]):
    BINDINGS = [Binding("escape", "back", "Back")]

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
