"""The new-run and resume dialogs ask for GPUs (the default filled in) and a priority, and
send what is typed, against a real server with 8 replayed GPUs."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input

from common.client import TrainyardClient
from common.models import RunCreate, RunDetail
from tests.conftest import Server, project_body
from tests.helpers import wait_until
from tests.tui.conftest import TRAINER_CMD
from tests.tui.helpers import SIZE, Notes, live_app, wait_for, wait_for_text
from tui.screens.new_run import NewRunDialog
from tui.screens.project import ProjectScreen
from tui.screens.resume import ResumeDialog
from tui.screens.run import RunScreen


async def _open_project(pilot: Pilot[None], name: str) -> None:
    app = pilot.app
    await wait_for_text(pilot, name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ProjectScreen)
                   and app.screen.project is not None, what="the project view")


async def test_new_run_dialog_sends_the_gpus_and_priority_typed(
        gpu_server: Server, gpu_api: TrainyardClient) -> None:
    api = gpu_api
    await api.create_project(project_body("two-gpus", gpus=2))
    notes = Notes()
    app = live_app(gpu_server)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await _open_project(pilot, "two-gpus")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewRunDialog))
        dialog = app.screen
        gpus = dialog.query_one("#gpus", Input)
        priority = dialog.query_one("#priority", Input)
        assert (gpus.value, priority.value) == ("2", "0")  # the project's, and the default
        await wait_for_text(pilot, "empty GPUs: the project's 2")

        # Something that is no number: said at once, nothing sent.
        gpus.value = "-"
        dialog.query_one("#command", Input).value = "sleep 30"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("GPUs: type a whole number" in m
                                          for _, _, m in notes.seen), what="the warning")
        assert app.screen is dialog
        assert (await api.get_project("two-gpus")).runs == []

        gpus.value, priority.value = "3", "7"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the run view")
        run_id = app.screen.run_id
        run = await api.get_run("two-gpus", run_id)
        assert (run.gpus, run.priority) == (3, 7)
        run = await wait_until(lambda: _placed(api, "two-gpus", run_id), what="its GPUs")
        assert len(run.gpu_ids or []) == 3
        await api.cancel("two-gpus", run_id, grace_seconds=0)


async def _placed(api: TrainyardClient, project: str, run_id: str) -> RunDetail | None:
    run = await api.get_run(project, run_id)
    return run if run.gpu_ids else None


async def test_empty_gpus_in_a_project_without_them_places_nothing(
        gpu_server: Server, gpu_api: TrainyardClient) -> None:
    api = gpu_api
    await api.create_project(project_body("no-gpus"))
    app = live_app(gpu_server)
    async with app.run_test(size=SIZE) as pilot:
        await _open_project(pilot, "no-gpus")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NewRunDialog))
        assert app.screen.query_one("#gpus", Input).value == ""
        await wait_for_text(pilot, "empty GPUs: not placed")
        app.screen.query_one("#command", Input).value = "sleep 30"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the run view")
        run = await api.get_run("no-gpus", app.screen.run_id)
        assert run.gpus is None and run.gpu_ids is None and run.priority == 0
        await api.cancel("no-gpus", run.id, grace_seconds=0)


async def test_resume_dialog_offers_the_runs_gpus_and_sends_what_is_typed(
        gpu_server: Server, gpu_api: TrainyardClient) -> None:
    api = gpu_api
    await api.create_project(project_body("resumed"))
    first = await api.start_run("resumed", RunCreate(TRAINER_CMD, gpus=1, priority=4))

    async def checkpoint() -> bool:
        detail = await api.get_run("resumed", first.id)
        return any(a.type == "checkpoint" for a in detail.artifacts)
    await wait_until(checkpoint, what="a checkpoint")
    await api.cancel("resumed", first.id, grace_seconds=5)

    app = live_app(gpu_server)
    async with app.run_test(size=SIZE) as pilot:
        await _open_project(pilot, "resumed")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen)
                       and app.screen.model is not None, what="the run view")
        await pilot.press("r")  # shows the checkpoints, the kept one selected
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ResumeDialog), what="the dialog")
        gpus = app.screen.query_one("#gpus", Input)
        priority = app.screen.query_one("#priority", Input)
        assert (gpus.value, priority.value) == ("1", "4")  # what the run asked
        gpus.value, priority.value = "2", "-5"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen)
                       and app.screen.run_id != first.id, what="the new run's view")
        new = await api.get_run("resumed", app.screen.run_id)
        assert new.parent_run_id == first.id
        assert (new.gpus, new.priority) == (2, -5)
        await api.cancel("resumed", new.id, grace_seconds=0)
