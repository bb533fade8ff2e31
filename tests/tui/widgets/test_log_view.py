"""The log view on its own: every kept line can be read back, and a busy log never moves
what the reader is looking at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult
from textual.pilot import Pilot

from common.models import LogEntry
from tui.run_model import LOG_KEEP
from tui.widgets import LogView
from tui.widgets.log_lines import LogLines

from ..helpers import screen_text, wait_for, wait_for_text

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def entries(first: int, count: int, text: str = "line {:05d}") -> list[LogEntry]:
    return [LogEntry(timestamp=START + timedelta(milliseconds=i), level="INFO",
                     message=text.format(i), seq=i + 1, stream="stdout")
            for i in range(first, first + count)]


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LogView(tz=UTC, id="log")


def rows_read(pilot: Pilot[None]) -> list[str]:
    """The log's rows on screen, without the state line and the scrollbar."""
    return [row[:90].rstrip() for row in screen_text(pilot).splitlines()[1:]]


async def shown(pilot: Pilot[None], log: LogView, new: list[LogEntry]) -> None:
    log.add(new)
    await wait_for(pilot, lambda: log.entries and log.entries[-1] is new[-1]
                   and log.shown == min(log.entries[-1].seq, LOG_KEEP), what="the new lines")
    await pilot.pause()


async def test_pausing_shows_every_kept_line_even_after_a_burst() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(LogView)
        await shown(pilot, log, entries(0, 3000))  # one flush: faster than anyone reads
        assert "line 02999" in screen_text(pilot)  # following: the newest at the bottom
        assert "3,000 lines · following" in screen_text(pilot)
        app.query_one(LogLines).focus()
        await pilot.press("home")  # scrolling up pauses
        await wait_for(pilot, lambda: not log.follow, what="paused")
        await wait_for_text(pilot, "line 00000")
        assert "paused (f follows)" in screen_text(pilot)
        await pilot.press("pagedown")
        await wait_for_text(pilot, "line 00019")
        rows = [row.split()[-1] for row in screen_text(pilot).splitlines()[1:] if row.strip()]
        assert rows == [f"{n:05d}" for n in range(19, 19 + len(rows))]  # none left out


async def test_lines_past_the_keep_limit_drop_off_without_moving_what_is_read() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(LogView)
        lines = app.query_one(LogLines)
        await shown(pilot, log, entries(0, LOG_KEEP))
        lines.focus()
        await pilot.press("up")  # pause
        await wait_for(pilot, lambda: not log.follow, what="paused")
        lines.scroll_to(y=10_000, animate=False, immediate=True)
        await wait_for(pilot, lambda: screen_text(pilot).splitlines()[1].rstrip().endswith(
            "line 10000"), what="line 10000 at the top")
        before = rows_read(pilot)

        await shown(pilot, log, entries(LOG_KEEP, 1500))  # the oldest 1,500 drop off
        assert log.entries[0].seq == 1501 and log.shown == LOG_KEEP
        assert rows_read(pilot) == before  # the same rows, in the same places
        await pilot.press("end")
        await wait_for(pilot, lambda: log.follow, what="following again")
        await wait_for_text(pilot, f"line {LOG_KEEP + 1499:05d}")


async def test_a_filter_keeps_its_matches_as_lines_arrive() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(LogView)
        await shown(pilot, log, entries(0, 500))
        log.needle = "99"

        def matching(upto: int) -> int:
            return sum("99" in f"line {i:05d}" for i in range(upto))

        await wait_for_text(pilot, f"filter '99': {matching(500)} of 500 lines")
        log.add(entries(500, 1500))
        await wait_for_text(pilot, f"filter '99': {matching(2000):,} of 2,000 lines")
        assert "line 01999" in screen_text(pilot) and "line 01988" not in screen_text(pilot)


async def test_control_characters_cannot_move_the_cursor() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(LogView)
        await shown(pilot, log, entries(0, 1, "step 5\x1b[2J\x1b[Hdone\tnext"))
        await wait_for_text(pilot, "step 5�[2J�[Hdone       next")  # the tab: to column 24


async def test_wrapped_rows_follow_the_width() -> None:
    long = " ".join(f"word{i:03d}" for i in range(40))  # 319 characters
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(LogView)
        await shown(pilot, log, [*entries(0, 1, long), *entries(1, 3)])
        assert "word039" not in screen_text(pilot)  # one row: cut at the edge
        log.wrap = True
        await wait_for_text(pilot, "word039")
        rows = [r for r in screen_text(pilot).splitlines() if "word" in r]
        assert len(rows) == 4 and all(r.rstrip().endswith(tuple("0123456789")) for r in rows)
        assert "line 00003" in screen_text(pilot)  # the lines after it still follow
        await pilot.resize_terminal(60, 20)
        await wait_for(pilot, lambda: len([r for r in screen_text(pilot).splitlines()
                                           if "word" in r]) == 6, what="six rows at 60")
        log.wrap = False
        await wait_for(pilot, lambda: "word039" not in screen_text(pilot), what="unwrapped")
        app.query_one(LogLines).focus()
        for _ in range(400):  # one row each: → scrolls sideways, as a held key would
            if "word039" in screen_text(pilot):
                break
            await pilot.press("right")
        assert "word039" in screen_text(pilot)
        assert "word000" not in screen_text(pilot)  # scrolled, not wrapped
