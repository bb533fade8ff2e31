"""The run view against a real server and a real trainer: watch it, cancel it, resume it."""

from __future__ import annotations

from textual.widgets import Input, TabbedContent

from common.client import TrainyardClient
from common.models import RunCreate
from tests.conftest import Server, project_body
from tests.tui.conftest import TRAINER_CMD
from tests.tui.helpers import SIZE, Notes, live_app, screen_text, wait_for, wait_for_text
from tui.screens.new_run import NewRunDialog
from tui.screens.project import ProjectScreen
from tui.screens.resume import ResumeDialog
from tui.screens.run import RunScreen
from tui.screens.stop_run import StopRunDialog
from tui.widgets import ArtifactsTable, LogView


async def test_launch_watch_cancel_and_resume_from_the_kept_checkpoint(
        server: Server, client: TrainyardClient) -> None:
    project = await client.create_project(project_body())
    notes = Notes()
    app = live_app(server)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        # projects -> project
        await wait_for_text(pilot, "印章大模型")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectScreen)
                       and app.screen.project is not None, what="the project view")
        assert "owner LL" in screen_text(pilot)

        # a new run, typed into the dialog
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewRunDialog))
        app.screen.query_one("#command", Input).value = TRAINER_CMD
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the run view")
        run_view = app.screen
        assert isinstance(run_view, RunScreen)

        # log lines and progress arrive live
        await wait_for_text(pilot, "***** Running training *****")
        await wait_for(pilot, lambda: run_view.model is not None
                       and (run_view.model.detail.progress_info.current_step or 0) >= 10
                       and any(a.type == "checkpoint" for a in run_view.model.artifacts.values()),
                       what="step 10 and a checkpoint")
        assert "▶ running" in screen_text(pilot)
        assert "/300" in screen_text(pilot)  # step N/300 on the progress line
        assert "━ loss" in screen_text(pilot)  # the chart's legend

        # cancel, with a short grace period typed as a user types it: the field has focus
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, StopRunDialog))
        await pilot.press("backspace", "backspace", "5", "enter")
        await wait_for(pilot, lambda: any("waits up to 20 s" in m for _, _, m in notes.seen),
                       what="the stop sent with grace 5 s")
        await wait_for(pilot, lambda: run_view.model is not None
                       and run_view.model.detail.status == "canceled", what="canceled")
        await wait_for_text(pilot, "★ kept")
        text = screen_text(pilot)
        assert "■ canceled" in text
        assert run_view.query_one(TabbedContent).active == "tab-artifacts"
        kept = run_view.model.detail.kept_artifact_id  # type: ignore[union-attr]
        assert kept is not None
        assert run_view.query_one(ArtifactsTable).selected_key == kept
        assert any("kept checkpoint" in m for _, _, m in notes.seen)

        # resume from the selected (kept) checkpoint; the command field has focus and
        # shows the command's start
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ResumeDialog))
        command = app.screen.query_one("#command", Input)
        assert app.screen.focused is command and command.cursor_position == 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen)
                       and app.screen.run_id != run_view.run_id, what="the new run's view")
        new_view = app.screen
        assert isinstance(new_view, RunScreen)
        await wait_for_text(pilot, "Continuing training from checkpoint")
        new = await client.get_run(project.id, new_view.run_id)
        assert new.parent_run_id == run_view.run_id
        assert new.resume_source_artifact_id == kept
        assert f"↻{run_view.run_id[-4:]}" not in screen_text(pilot)  # the run view shows

        # back to the project: both runs listed, the new one first
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectScreen))
        await wait_for_text(pilot, f"↻{run_view.run_id[-4:]}")
        await client.cancel(project.id, new.id, grace_seconds=1)


async def test_log_follow_pause_and_filter(shared_server: Server,
                                           shared_client: TrainyardClient,
                                           project_name: str) -> None:
    client = shared_client
    project = await client.create_project(project_body(project_name))
    run = await client.start_run(project.id, RunCreate(start_command=TRAINER_CMD))
    app = live_app(shared_server)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(RunScreen(project.id, run.id, project.name))
        await wait_for_text(pilot, "Saving model checkpoint")
        log = app.screen.query_one(LogView)
        assert log.follow
        await pilot.press("f")
        assert not log.follow
        await wait_for_text(pilot, "paused (f follows)")
        await pilot.press("slash", *"eval", "enter")
        await wait_for_text(pilot, "filter 'eval'")
        assert log.shown and log.shown < len(log.entries)
        await pilot.press("escape")  # clears the filter first, stays on the run
        assert isinstance(app.screen, RunScreen)
        assert not log.needle
        await pilot.press("end")
        await wait_for(pilot, lambda: log.follow, what="following again")
        await client.cancel(project.id, run.id, grace_seconds=1)
