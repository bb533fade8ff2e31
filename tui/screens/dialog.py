"""The frame every dialog shares: a titled box, Esc closes, worker errors reported."""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen

from ..widgets.keys_footer import KeysFooter
from .reporting import ReportsWorkerErrors

__all__ = ["Dialog"]

R = TypeVar("R")


class Dialog(ReportsWorkerErrors, ModalScreen[R]):
    BINDINGS = [Binding("escape", "close", "Close")]

    def compose(self) -> ComposeResult:
        yield from self.compose_dialog()
        yield KeysFooter(compact=True, show_command_palette=False)

    def compose_dialog(self) -> ComposeResult:
        yield from ()

    def action_close(self) -> None:
        self.dismiss(None)
