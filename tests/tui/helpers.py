"""Driving the app in tests: wait for what a user would see, read the screen as text."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC

from rich.console import Console
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot

from tests.conftest import TOKEN, Server
from tui.api import HttpApi
from tui.app import TrainyardApp

SIZE = (120, 36)


def live_app(server: Server) -> TrainyardApp:
    """The app on a real server, as ``trainyard tui`` builds it."""
    return TrainyardApp(HttpApi(server.url, TOKEN), url=server.url, tz=UTC)


class Notes:
    """Every notification the app raised, for ``run_test(message_hook=...)``."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []  # (severity, title, message)

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            n = message.notification
            self.seen.append((n.severity, n.title, n.message))

    def text(self) -> str:
        return "\n".join(f"{s} {t}: {m}" for s, t, m in self.seen)


def screen_text(pilot: Pilot[None]) -> str:
    """What the terminal shows now, as plain text."""
    app = pilot.app
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text()


async def wait_for(pilot: Pilot[None], probe: Callable[[], object], *, timeout: float = 20.0,
                   what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if probe():
                return
        except Exception:  # the widget is not mounted yet, the data not there yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n"
                                 + screen_text(pilot))
        await pilot.pause(0.05)


async def wait_for_text(pilot: Pilot[None], text: str, *, timeout: float = 20.0) -> None:
    await wait_for(pilot, lambda: text in screen_text(pilot), timeout=timeout,
                   what=f"{text!r} on screen")
