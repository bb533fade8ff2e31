"""A run's log: follows new lines live, pauses when you scroll up, filters as you type."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import tzinfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, RichLog

from common.models import LogEntry

from ..format import clock_time
from ..run_model import LOG_KEEP
from .line import Line

__all__ = ["LogView", "log_line"]

SHOWN = 5000  # lines drawn at once; the search looks through all lines kept
FLUSH_SECONDS = 0.1  # new lines are drawn in batches, at most ten times a second
# While following, at most a screenful (at least BURST lines) of a batch is drawn: each
# drawn line costs ~0.2 ms, and lines beyond a screenful scroll away unseen (pausing
# redraws them all). At 200 a flush blocked the event loop ~40 ms (cProfile, bench).
BURST = 50
LEVEL_STYLE = {"ERROR": "bold red", "CRITICAL": "bold red", "WARNING": "yellow"}


def log_line(entry: LogEntry, tz: tzinfo | None, needle: str = "") -> Text:
    line = Text(clock_time(entry.timestamp, tz) + " ", style="dim")
    style = LEVEL_STYLE.get(entry.level.upper(), "")
    if entry.stream == "system":
        line.append("trainyard ", style="blue")
        style = style or "italic"
    line.append(entry.message, style=style)
    if needle:
        line.highlight_words([needle], "reverse", case_sensitive=False)
    return line


class _Lines(RichLog):
    """RichLog that says when the reader scrolls up (to stop following) and when they
    scroll back to the end (to follow again)."""

    class ScrolledUp(Message):
        pass

    class ReachedEnd(Message):
        pass

    def _scrolled_up(self) -> None:
        self.post_message(self.ScrolledUp())

    def _check_end(self) -> None:
        if self.is_vertical_scroll_end:
            self.post_message(self.ReachedEnd())

    def on_mouse_scroll_down(self) -> None:
        self.call_after_refresh(self._check_end)

    def action_scroll_end(self) -> None:
        super().action_scroll_end()
        self.post_message(self.ReachedEnd())

    def on_mouse_scroll_up(self) -> None:
        self._scrolled_up()

    def action_scroll_up(self) -> None:
        self._scrolled_up()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._scrolled_up()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._scrolled_up()
        super().action_scroll_home()


class LogView(Vertical):
    DEFAULT_CSS = """
    LogView {
        height: 1fr;
    }
    LogView > #log-state {
        height: 1;
        color: $text-muted;
        padding: 0 1;
    }
    LogView > _Lines {
        height: 1fr;
        background: $surface;
    }
    LogView > Input {
        display: none;
    }
    LogView.-searching > Input {
        display: block;
    }
    """

    follow: reactive[bool] = reactive(True)
    needle: reactive[str] = reactive("")
    wrap: reactive[bool] = reactive(False)

    def __init__(self, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.entries: deque[LogEntry] = deque(maxlen=LOG_KEEP)
        self.shown = 0  # lines drawn since the last redraw
        self._pending: list[LogEntry] = []
        self._flush_scheduled = False

    def compose(self) -> ComposeResult:
        yield Line(id="log-state")
        yield _Lines(max_lines=SHOWN, wrap=False, markup=False, highlight=False,
                     auto_scroll=True)
        yield Input(placeholder="filter the log (enter: keep, esc: clear)", compact=True,
                    id="log-search")

    @property
    def lines_widget(self) -> RichLog:
        return self.query_one(_Lines)

    def on_mount(self) -> None:
        self._update_state()

    def add(self, entries: Iterable[LogEntry]) -> None:
        """Queue lines; they are drawn together at most every ``FLUSH_SECONDS``, so a run
        printing thousands of lines a second costs a few redraws, not thousands."""
        self._pending.extend(entries)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.set_timer(FLUSH_SECONDS, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        new, self._pending = self._pending, []
        self.entries.extend(new)
        self._draw(new, burst=self.follow)

    def _draw(self, new: list[LogEntry], *, burst: bool) -> None:
        needle = self.needle.casefold()
        shown = [e for e in new if needle in e.message.casefold()] if needle else new
        shown = shown[-SHOWN:]
        limit = max(BURST, self.lines_widget.size.height)
        if burst and len(shown) > limit:
            # Faster than anyone reads: draw the newest; pausing redraws them all.
            skipped, shown = len(shown) - limit, shown[-limit:]
            self.lines_widget.write(Text(f"… {skipped:,} lines not drawn while following "
                                         "(f pauses and shows them)", style="dim italic"),
                                    scroll_end=True)
        if shown:
            text = Text("\n").join(log_line(e, self.tz, self.needle) for e in shown)
            self.lines_widget.write(text, scroll_end=self.follow)
            self.shown += len(shown)
        self._update_state()

    def reset(self, entries: Iterable[LogEntry]) -> None:
        """Redraw from ``entries`` (all kept for search; the newest SHOWN drawn)."""
        everything = [*entries, *self._pending]
        self._pending = []
        self.entries.clear()
        self.entries.extend(everything)
        self.lines_widget.clear()
        self.shown = 0
        self._draw(list(self.entries), burst=False)

    def watch_follow(self, follow: bool) -> None:
        self.lines_widget.auto_scroll = follow
        if follow:
            self.lines_widget.scroll_end(animate=False)
        elif self.shown < min(len(self.entries), SHOWN):
            self.reset(list(self.entries))  # paused: show what bursts left out
            self.lines_widget.scroll_end(animate=False)
        self._update_state()

    def watch_needle(self) -> None:
        self.reset(self.entries)

    def watch_wrap(self, wrap: bool) -> None:
        self.lines_widget.wrap = wrap
        self.reset(list(self.entries))  # lines already drawn are redrawn the new way

    def jump_to_end(self) -> None:
        self.follow = True
        self.lines_widget.scroll_end(animate=False)

    def open_search(self) -> None:
        self.add_class("-searching")
        self.query_one(Input).focus()

    @on(_Lines.ScrolledUp)
    def _pause(self) -> None:
        self.follow = False

    @on(_Lines.ReachedEnd)
    def _resume(self) -> None:
        self.follow = True

    @on(Input.Changed, "#log-search")
    def _search(self, event: Input.Changed) -> None:
        self.needle = event.value.strip()

    @on(Input.Submitted, "#log-search")
    def _keep_search(self) -> None:
        if not self.needle:
            self.remove_class("-searching")
        self.lines_widget.focus()

    def close_search(self) -> None:
        self.query_one(Input).value = ""
        self.needle = ""
        self.remove_class("-searching")
        self.lines_widget.focus()

    def _update_state(self) -> None:
        total = len(self.entries)
        if self.needle:
            state = f"filter {self.needle!r}: {self.shown:,} of {total:,} lines"
        else:
            state = f"{total:,} lines"
        state += " · following (f pauses)" if self.follow else " · paused (f follows)"
        state += " · wrapped (w: one row each)" if self.wrap else " · w wraps long lines"
        self.query_one("#log-state", Line).set(state)
