"""The project view against a real server: edit, archive, and the server's errors."""

from __future__ import annotations

from textual.widgets import Input

from common.client import TrainyardClient
from common.models import RunCreate
from tests.conftest import Server, project_body
from tests.tui.helpers import SIZE, Notes, live_app, screen_text, wait_for, wait_for_text
from tui.screens.project import ProjectScreen
from tui.screens.project_form import ProjectForm
from tui.screens.run import RunScreen
from tui.widgets import RunsTable


async def test_edit_archive_and_server_errors(shared_server: Server,
                                             shared_client: TrainyardClient,
                                             project_name: str) -> None:
    client = shared_client
    project = await client.create_project(project_body(project_name))
    notes = Notes()
    app = live_app(shared_server)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        app.push_screen(ProjectScreen(project.id))
        await wait_for_text(pilot, "owner LL")

        # edit: only what changed is sent
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectForm))
        app.screen.query_one("#field-owner", Input).value = "KM"
        app.screen.query_one("#field-workdir", Input).value = "LLaMA-Factory"
        await pilot.press("ctrl+s")
        await wait_for_text(pilot, "owner KM")
        assert "workdir LLaMA-Factory" in screen_text(pilot)
        saved = await client.get_project(project.id)
        assert (saved.owner, saved.workdir, saved.description) == (
            "KM", "LLaMA-Factory", project.description)

        # values the server would refuse: every one said in the form, the first focused
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectForm))
        app.screen.query_one("#field-dataset_name", Input).value = "../etc"
        app.screen.query_one("#field-tags", Input).value = "a, a"
        await pilot.press("ctrl+s")
        await wait_for_text(pilot, "dataset_name: must be a plain file or folder name")
        assert "tags: must not repeat a tag ('a')" in screen_text(pilot)
        assert isinstance(app.screen, ProjectForm)  # still open, to fix the value
        assert app.screen.focused is app.screen.query_one("#field-dataset_name", Input)
        await pilot.press("escape")
        assert (await client.get_project(project.id)).dataset_name == project.dataset_name

        # archive and unarchive; an archived project offers no new run
        await pilot.press("a")
        await wait_for_text(pilot, "○ archived")
        assert (await client.get_project(project.id)).status == "archived"
        assert "Unarchive" in screen_text(pilot)
        assert app.screen.check_action("new_run", ()) is None  # shown, greyed out
        await pilot.press("a")
        await wait_for_text(pilot, "● active")
        assert (await client.get_project(project.id)).status == "active"


async def test_end_then_enter_opens_the_last_row(shared_server: Server,
                                                 shared_client: TrainyardClient,
                                                 project_name: str) -> None:
    project = await shared_client.create_project(project_body(project_name))
    runs = [await shared_client.start_run(project.id, RunCreate(start_command="true",
                                                                output_dir=f"o/{i}"))
            for i in range(3)]
    app = live_app(shared_server)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ProjectScreen(project.id))
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3,
                       what="three runs")
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        assert isinstance(app.screen, RunScreen)
        assert app.screen.run_id == runs[0].id  # the oldest: the last row, where End went
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectScreen))
        await pilot.press("home", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        assert app.screen.run_id == runs[-1].id  # type: ignore[attr-defined]
