"""The server refuses this client: say why and how to fix it, instead of empty views."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from common.client import ApiError

from ..api import UNREACHABLE
from ..format import unreachable_text
from ..refusal import MIN_SERVER_API, Refusal
from .base import ViewScreen

__all__ = ["RefusedScreen"]


def advice(refusal: Refusal, url: str) -> str:
    if refusal.kind == "token":
        return (
            f"The server at {url} refused the API token ({refusal.reason}), so nothing can "
            "be shown: no projects, runs or GPUs.\n\n"
            "To fix it, paste the token the server printed on its first start below and "
            "press Enter, or quit (ctrl+q) and start again with --token or "
            "TRAINYARD_TOKEN.\nLost it? On the server, '.venv/bin/trainyard token' prints "
            "a new one (run it in the server's folder, with its TRAINYARD_DATA_DIR).")
    return (
        f"The server at {url} is too old for this TUI: {refusal.reason}; this TUI needs "
        f"API {MIN_SERVER_API} or newer.\n\nUpdate the server (git pull, then restart it "
        "with 'make run'), or use the TUI that came with the server's version.")


class RefusedScreen(ViewScreen):
    """Stays until a token works (or the app quits); the views behind it are rebuilt."""

    BINDINGS = [Binding("escape", "back", "Back", show=False)]
    DEFAULT_CSS = """
    RefusedScreen #refused-box { padding: 1 2; height: auto; }
    RefusedScreen #refused-title { text-style: bold; color: $error; }
    RefusedScreen #refused-text { margin: 1 0; }
    RefusedScreen #token { width: 1fr; max-width: 80; }
    RefusedScreen #token-result { color: $error; margin-top: 1; }
    """

    def __init__(self, refusal: Refusal) -> None:
        super().__init__()
        self.refusal = refusal

    def compose_body(self) -> ComposeResult:
        with Vertical(id="refused-box"):
            title = ("The server refused the token" if self.refusal.kind == "token"
                     else "The server is too old for this TUI")
            yield Static(title, id="refused-title")
            yield Static(advice(self.refusal, self.tapp.url), id="refused-text")
            if self.refusal.kind == "token":
                yield Input(placeholder="paste a token, then Enter", password=True,
                            id="token")
                yield Static("", id="token-result")

    def on_mount(self) -> None:
        if self.refusal.kind == "token":
            self.query_one("#token", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "back"  # nothing behind this screen is worth going back to

    @on(Input.Submitted, "#token")
    def _submitted(self, event: Input.Submitted) -> None:
        token = event.value.strip()
        if token:
            self._try(token)

    @work(exclusive=True, exit_on_error=False)
    async def _try(self, token: str) -> None:
        result = self.query_one("#token-result", Static)
        result.update("trying…")
        api = self.tapp.api
        api.use_token(token)
        try:
            await api.list_projects()
        except ApiError as error:
            result.update(f"Still refused: {error.body.message} ({error.status_code}).")
            return
        except UNREACHABLE as error:
            result.update(f"Server unreachable ({unreachable_text(error)}); try again.")
            return
        self.tapp.token_accepted()
