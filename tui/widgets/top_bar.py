"""The top line of every view: where you are, and whether the server is there."""

from __future__ import annotations

import time

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ..link import LinkState
from ..refusal import Refusal

__all__ = ["TopBar"]


class TopBar(Widget):
    DEFAULT_CSS = """
    TopBar {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    TopBar.-offline {
        background: $error;
        color: $text;
    }
    """

    crumbs: reactive[tuple[str, ...]] = reactive(tuple)
    link: reactive[LinkState] = reactive(LinkState, always_update=True)
    refusal: reactive[Refusal | None] = reactive(None)

    def __init__(self, *crumbs: str, url: str = "") -> None:
        super().__init__()
        self.url = url
        self.set_reactive(TopBar.crumbs, crumbs)

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)
        if hasattr(self.app, "link_state"):  # the Trainyard app says how the link is
            self.watch(self.app, "link_state", self._link_changed)
        if hasattr(self.app, "refusal"):
            self.watch(self.app, "refusal", self._refusal_changed)

    def _link_changed(self, link: LinkState) -> None:
        self.link = link

    def _refusal_changed(self, refusal: Refusal | None) -> None:
        self.refusal = refusal
        self.set_class(refusal is not None or not self.link.online, "-offline")

    def _tick(self) -> None:
        if not self.link.online:  # the retry countdown
            self.refresh()

    def watch_link(self, link: LinkState) -> None:
        self.set_class(not link.online or self.refusal is not None, "-offline")

    def render(self) -> Text:
        right = self._link_text(self.size.width - 24)
        left = Text(" Trainyard", style="bold")
        for crumb in self.crumbs:
            left.append(" › ", style="dim")
            left.append(crumb)
        room = max(self.size.width - right.cell_len - 1, 0)
        left.truncate(room, overflow="ellipsis")
        left.pad_right(room - left.cell_len)
        return Text.assemble(left, right, " ")

    def _link_text(self, room: int) -> Text:
        link = self.link
        if self.refusal is not None and link.online:
            return Text(self.refusal.headline, style="bold")
        if link.online:
            return Text.assemble(("● ", "green"), (self.url, "dim"))
        wait = max((link.retry_at or 0) - time.monotonic(), 0)
        retry = f"retry in {wait:.0f}s" if wait >= 0.5 else "retrying"
        text = f"✖ server unreachable ({link.reason}) · {retry} · showing last data"
        if len(text) > room:  # narrow terminal: the news first, the crumbs keep some room
            text = f"✖ server unreachable · {retry}"
        return Text(text, style="bold")
