"""Who did it, in the run view: who launched the run, who asked to stop it, and a run
that has gone silent flagged as stalled, live, against a real server."""

from __future__ import annotations

from common.client import TrainyardClient
from common.models import RunCreate
from tests.conftest import Server, project_body
from tests.tui.helpers import SIZE, live_app, screen_text, wait_for, wait_for_text
from tui.screens.run import RunScreen


async def test_run_view_says_who_launched_stopped_and_that_it_stalled(
        shared_server: Server, shared_client: TrainyardClient, project_name: str) -> None:
    api = shared_client
    project = await api.create_project(project_body(project_name, stall_seconds=1))
    run = await api.start_run(project.id, RunCreate("echo started; sleep 60"))
    app = live_app(shared_server)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(RunScreen(project.id, run.id, project.name))
        await wait_for_text(pilot, "by admin")  # the test token's user launched it
        await wait_for_text(pilot, "⚠ stalled")  # silent for more than a second
        await pilot.press("4")
        await wait_for_text(pilot, "no log line nor progress since then")
        text = " ".join(screen_text(pilot).split())
        assert "created by admin" in text and "stop asked by —" in text

        await api.cancel(project.id, run.id, grace_seconds=0)
        view = app.screen
        assert isinstance(view, RunScreen)
        await wait_for(pilot, lambda: view.model is not None
                       and view.model.detail.status == "canceled", what="canceled")
        await wait_for_text(pilot, "stop asked by admin")
        assert "⚠ stalled" not in screen_text(pilot)  # it is no longer running
