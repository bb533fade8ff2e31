"""Marking runs in the project view and comparing them, against a real server."""

from __future__ import annotations

from common.client import TrainyardClient
from common.models import RunCreate
from tests.conftest import Server, project_body
from tests.helpers import wait_for_status
from tests.tui.helpers import SIZE, Notes, live_app, screen_text, wait_for
from tui.screens.compare import CompareScreen
from tui.screens.project import ProjectScreen
from tui.widgets import RunsTable


async def test_marked_runs_open_side_by_side(shared_server: Server,
                                             shared_client: TrainyardClient,
                                             project_name: str) -> None:
    client = shared_client
    project = await client.create_project(project_body(project_name))
    first = await client.start_run(project.id, RunCreate("echo a", env={"LR": "1e-5"},
                                                         output_dir="saves/a"))
    second = await client.start_run(project.id, RunCreate("echo b", env={"LR": "2e-5"},
                                                          output_dir="saves/b"))
    for run in (first, second):
        await wait_for_status(client, project.id, run.id, {"completed"})
    notes = Notes()
    app = live_app(shared_server)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        app.push_screen(ProjectScreen(project.id))
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectScreen)
                       and app.screen.query_one(RunsTable).row_count == 2, what="both runs")
        screen = app.screen
        assert isinstance(screen, ProjectScreen)
        await pilot.press("m", "c")  # one run is not a comparison
        await wait_for(pilot, lambda: bool(notes.seen), what="a notification")
        assert "two or more" in notes.seen[-1][2] and app.screen is screen
        await pilot.press("m")  # unmarks it
        assert screen.marked == []
        await pilot.press("down", "m", "up", "m")  # oldest first, as marked
        assert screen.marked == [first.id, second.id]
        assert "◆" in screen_text(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen)
                       and app.screen.result is not None, what="the comparison")
        assert [r.id for r in app.screen.result.runs] == [first.id, second.id]  # type: ignore[attr-defined]
        text = screen_text(pilot)
        assert "LR: 1e-5 -> 2e-5" in text and "echo a" in text and "echo b" in text
