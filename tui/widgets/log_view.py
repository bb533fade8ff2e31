"""A run's log: follows new lines live, pauses when you scroll up, filters as you type."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import tzinfo

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Input

from common.models import LogEntry

from ..run_model import LOG_KEEP
from .line import Line
from .log_lines import LogLines

__all__ = ["LogView"]

FLUSH_SECONDS = 0.1  # new lines are added in batches, at most ten times a second


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
    LogView > LogLines {
        height: 1fr;
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
        self._pending: list[LogEntry] = []
        self._flush_scheduled = False

    def compose(self) -> ComposeResult:
        yield Line(id="log-state")
        yield LogLines(tz=self.tz)
        yield Input(placeholder="filter the log (enter: keep, esc: clear)", compact=True,
                    id="log-search")

    @property
    def lines_widget(self) -> LogLines:
        return self.query_one(LogLines)

    @property
    def shown(self) -> int:
        """Lines on the view: all kept, or those the filter lets through."""
        return self.lines_widget.count

    def on_mount(self) -> None:
        self._update_state()

    def add(self, entries: Iterable[LogEntry]) -> None:
        """Queue lines; they are added together at most every ``FLUSH_SECONDS``, so a run
        printing thousands of lines a second costs a few redraws, not thousands."""
        self._pending.extend(entries)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.set_timer(FLUSH_SECONDS, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        new, self._pending = self._pending, []
        self.entries.extend(new)
        oldest = self.entries[0].seq if self.entries else None
        self.lines_widget.extend(self._matching(new), oldest_kept=oldest)
        self._update_state()

    def _matching(self, entries: Iterable[LogEntry]) -> list[LogEntry]:
        needle = self.needle.casefold()
        return [e for e in entries if needle in e.message.casefold()] if needle \
            else list(entries)

    def reset(self, entries: Iterable[LogEntry]) -> None:
        """Show ``entries`` (and what is waiting to be added) instead of what is shown."""
        everything = [*entries, *self._pending]
        self._pending = []
        self.entries.clear()
        self.entries.extend(everything)
        self._show_all()

    def _show_all(self) -> None:
        self.lines_widget.replace(self._matching(self.entries), self.needle)
        self._update_state()

    def watch_follow(self, follow: bool) -> None:
        self.lines_widget.follow = follow
        if follow:
            self.lines_widget.scroll_end(animate=False)
        self._update_state()

    def watch_needle(self) -> None:
        self._show_all()

    def watch_wrap(self, wrap: bool) -> None:
        self.lines_widget.wrap = wrap
        self._update_state()

    def jump_to_end(self) -> None:
        self.follow = True
        self.lines_widget.scroll_end(animate=False)

    def open_search(self) -> None:
        self.add_class("-searching")
        self.query_one(Input).focus()

    @on(LogLines.ScrolledUp)
    def _pause(self) -> None:
        self.follow = False

    @on(LogLines.ReachedEnd)
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
