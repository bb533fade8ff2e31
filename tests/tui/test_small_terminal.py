"""At 80x24 every view still shows what it is for: whole artifact paths, whole log
lines, the whole status line, each a key away (fixed data: tests/tui/frozen.py)."""

from __future__ import annotations

from textual.widgets import Static

from tests.tui.frozen import ARTIFACTS
from tests.tui.helpers import Notes, screen_text, wait_for, wait_for_text
from tests.tui.views import frozen_app, run
from tui.widgets import ArtifactsTable, LogView

SMALL = (80, 24)


async def test_the_selected_artifacts_whole_path_shows_below_the_table() -> None:
    app = frozen_app()
    async with app.run_test(size=SMALL) as pilot:
        await run(pilot)
        await pilot.press("2")
        table = app.screen.query_one(ArtifactsTable)
        await wait_for(pilot, lambda: table.row_count == len(ARTIFACTS), what="artifacts")
        for row in range(table.row_count):
            table.move_cursor(row=row)
            await pilot.pause()
            chosen = table.selected
            assert chosen is not None
            line = str(app.screen.query_one("#artifact-path", Static).render())
            assert line == f"path {chosen.path}"
            assert len(chosen.path) > 40  # too long for its column at 80 columns...
            joined = "".join(row.strip() for row in screen_text(pilot).splitlines())
            assert chosen.path in joined  # ...shown whole, wrapped if need be
        assert "…" in screen_text(pilot)  # the column itself is cut in the middle


async def test_w_wraps_long_log_lines_and_says_so() -> None:
    app = frozen_app()
    async with app.run_test(size=SMALL) as pilot:
        await run(pilot)
        log = app.screen.query_one(LogView)
        assert "'epoch': 4.50}" not in screen_text(pilot)  # cut at 80 columns
        assert "w wraps long lines" in screen_text(pilot)
        assert "w Wrap" in screen_text(pilot)  # the key is in the footer
        await pilot.press("w")
        await wait_for(pilot, lambda: log.wrap, what="wrapped")
        await wait_for_text(pilot, "'epoch': 4.50}")
        assert "wrapped (w: one row each)" in screen_text(pilot)
        await pilot.press("w")
        await wait_for(pilot, lambda: "'epoch': 4.50}" not in screen_text(pilot),
                       what="one row per line again")


async def test_s_shows_the_whole_status_line() -> None:
    notes = Notes()
    app = frozen_app()
    async with app.run_test(size=SMALL, message_hook=notes) as pilot:
        await run(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: any(t.startswith("Status of run_") for _, t, _ in
                                          notes.seen), what="the status notification")
        assert any(m.startswith("running") for _, _, m in notes.seen)
