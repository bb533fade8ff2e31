"""A run's log lines, rendered only where they are seen.

Textual's RichLog renders every line it is given into styled strips at once and keeps
them: 5,000 lines were ~9,000 strips and ~64,000 caches, which the collector's full
passes walked, stalling the event loop 20-40 ms beside a run printing 5,000 lines/s
(gc callbacks over bench/tui_responsiveness.py). This view keeps the log entries
themselves and renders a row when it is drawn, with a small cache of recent rows, so
every kept line is on it (no cap on what can be scrolled back to, no lines left out while
following) at the cost of the rows on screen.

Long lines are one row each (scroll sideways), or wrapped at word boundaries as Rich
wraps them: a wrapped entry's rows are worked out when it is added or the width changes,
and only for entries longer than the width.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import tzinfo
from itertools import accumulate

from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from common.models import LogEntry

from ..format import clock_time

__all__ = ["LogLines", "log_line"]

LEVEL_STYLE = {"ERROR": "bold red", "CRITICAL": "bold red", "WARNING": "yellow"}
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")  # tabs are expanded first


def log_line(entry: LogEntry, tz: tzinfo | None, needle: str = "") -> Text:
    """One entry as shown: its time, dimmed; trainyard's own lines marked; the search
    term highlighted. Control characters show as ``�`` (they would move the cursor)."""
    line = Text()
    line.append(clock_time(entry.timestamp, tz) + " ", style="dim")  # a span: the time only
    style = LEVEL_STYLE.get(entry.level.upper(), "")
    if entry.stream == "system":
        line.append("trainyard ", style="blue")
        style = style or "italic"
    line.append(_CONTROL.sub("\N{REPLACEMENT CHARACTER}", entry.message.expandtabs()),
                style=style)
    if needle:
        line.highlight_words([needle], "reverse", case_sensitive=False)
    return line


class LogLines(ScrollView, can_focus=True):
    """The rows of a log. Says when the reader scrolls up (to stop following) and when
    they come back to the end (to follow again)."""

    DEFAULT_CSS = """
    LogLines {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """

    class ScrolledUp(Message):
        pass

    class ReachedEnd(Message):
        pass

    def __init__(self, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.follow = True  # keep the newest row in view
        self._entries: list[LogEntry] = []
        self._seqs: list[int] = []  # each entry's seq, to drop the oldest by seq
        self._lengths: list[int] = []  # each entry's width in cells, as one row
        self._widest = 0
        self._needle = ""
        self._wrap = False
        self._wrap_width = 0
        self._ends: list[int] = []  # wrapped: the row after each entry's last
        self._texts: LRUCache[int, Text] = LRUCache(512)  # by seq
        # Rendered rows by (seq, width wrapped at, or -1 for one row each).
        self._rows: LRUCache[tuple[int, int], list[Strip]] = LRUCache(512)

    # -- contents -----------------------------------------------------------------------
    @property
    def count(self) -> int:
        """Entries on the view."""
        return len(self._entries)

    def replace(self, entries: Iterable[LogEntry], needle: str = "") -> None:
        """Show ``entries`` (already filtered by ``needle``, which is highlighted)."""
        self._entries, self._seqs, self._lengths = [], [], []
        self._widest, self._needle = 0, needle
        self._texts.clear()
        self._rows.clear()
        self._ends = []
        self._append(list(entries))
        self._resized()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def extend(self, entries: Sequence[LogEntry], oldest_kept: int | None = None) -> None:
        """Add newer entries, and drop those with a seq below ``oldest_kept``."""
        self._append(entries)
        dropped = self._drop_before(oldest_kept) if oldest_kept is not None else 0
        self._resized()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif dropped:  # the rows being read stay where they are on screen
            self.scroll_to(y=max(self.scroll_y - dropped, 0), animate=False, immediate=True)
        self.refresh()

    def _append(self, entries: Sequence[LogEntry]) -> None:
        texts = [log_line(entry, self.tz) for entry in entries]
        lengths = [text.cell_len for text in texts]
        self._entries.extend(entries)
        self._seqs.extend(entry.seq for entry in entries)
        self._lengths.extend(lengths)
        self._widest = max([self._widest, *lengths])
        if self._wrap:
            start = self._ends[-1] if self._ends else 0
            self._ends.extend(start + rows for rows in accumulate(map(self._height, texts)))

    def _drop_before(self, seq: int) -> int:
        """Drop entries older than ``seq``; how many rows went."""
        count = bisect_left(self._seqs, seq)
        if not count:
            return 0
        rows = self._ends[count - 1] if self._wrap else count
        del self._entries[:count], self._seqs[:count], self._lengths[:count]
        if self._wrap:
            self._ends = [end - rows for end in self._ends[count:]]
        return rows

    # -- wrapping -------------------------------------------------------------------------
    @property
    def wrap(self) -> bool:
        return self._wrap

    @wrap.setter
    def wrap(self, wrap: bool) -> None:
        if wrap != self._wrap:
            self._wrap = wrap
            self._rewrap()

    def on_resize(self) -> None:
        if self._wrap and max(self._content_width(), 1) != self._wrap_width:
            self._rewrap()

    def _rewrap(self) -> None:
        self._wrap_width = max(self._content_width(), 1)
        width = self._wrap_width
        self._ends = (list(accumulate(1 if length <= width else self._height(log_line(e, self.tz))
                                      for e, length in zip(self._entries, self._lengths,
                                                           strict=True)))
                      if self._wrap else [])
        self._resized()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def _height(self, text: Text) -> int:
        """Rows an entry's text takes wrapped (rendered only when drawn: :meth:`_wrapped`)."""
        if text.cell_len <= self._wrap_width:
            return 1
        return len(text.wrap(self.app.console, self._wrap_width))

    def _wrapped(self, entry: LogEntry) -> list[Strip]:
        key = (entry.seq, self._wrap_width)
        rows = self._rows.get(key)
        if rows is None:
            console = self.app.console
            rows = [Strip(list(line.render(console)), line.cell_len)
                    for line in self._text(entry).wrap(console, self._wrap_width)]
            self._rows[key] = rows
        return rows

    # -- drawing ------------------------------------------------------------------------
    def _content_width(self) -> int:
        return self.scrollable_content_region.width

    def _row_count(self) -> int:
        return (self._ends[-1] if self._ends else 0) if self._wrap else len(self._entries)

    def _resized(self) -> None:
        width = self._wrap_width if self._wrap else self._widest
        self.virtual_size = Size(width, self._row_count())

    def _text(self, entry: LogEntry) -> Text:
        text = self._texts.get(entry.seq)
        if text is None:
            text = self._texts[entry.seq] = log_line(entry, self.tz, self._needle)
        return text

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self._content_width()
        row = scroll_y + y
        style = self.rich_style
        if self._wrap:
            index = bisect_right(self._ends, row)
            if index >= len(self._entries):
                return Strip.blank(width, style)
            first = self._ends[index - 1] if index else 0
            strip = self._wrapped(self._entries[index])[row - first]
            return strip.crop_extend(0, width, style).apply_style(style)
        if row >= len(self._entries):
            return Strip.blank(width, style)
        entry = self._entries[row]
        key = (entry.seq, -1)  # the entry as one row
        rows = self._rows.get(key)
        if rows is None:
            text = self._text(entry)
            rows = self._rows[key] = [Strip(list(text.render(self.app.console)),
                                            self._lengths[row])]
        return rows[0].crop_extend(scroll_x, scroll_x + width, style).apply_style(style)

    # -- following ------------------------------------------------------------------------
    def _scrolled_up(self) -> None:
        self.post_message(self.ScrolledUp())

    def _check_end(self) -> None:
        if self.is_vertical_scroll_end:
            self.post_message(self.ReachedEnd())

    def on_mouse_scroll_down(self) -> None:
        self.call_after_refresh(self._check_end)

    def on_mouse_scroll_up(self) -> None:
        self._scrolled_up()

    def action_scroll_end(self) -> None:
        super().action_scroll_end()
        self.post_message(self.ReachedEnd())

    def action_scroll_up(self) -> None:
        self._scrolled_up()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._scrolled_up()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._scrolled_up()
        super().action_scroll_home()
