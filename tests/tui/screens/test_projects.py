"""The projects list against a real server: live updates, filter, archived toggle, create."""

from __future__ import annotations

from textual.widgets import Input

from common.client import TrainyardClient
from common.models import ProjectUpdate, RunCreate
from tests.conftest import Server, project_body
from tests.tui.helpers import SIZE, live_app, screen_text, wait_for, wait_for_text
from tui.screens.project import ProjectScreen
from tui.screens.project_form import ProjectForm
from tui.screens.projects import ProjectsScreen
from tui.widgets import ProjectsTable


def rows(app: object) -> int:
    return app.screen.query_one(ProjectsTable).row_count  # type: ignore[attr-defined, no-any-return]


async def test_projects_arrive_live_and_filter_as_you_type(
        server: Server, client: TrainyardClient) -> None:
    await client.create_project(project_body())
    app = live_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "印章大模型")
        # created elsewhere (curl, another TUI): it appears without a refresh
        await client.create_project(project_body("qwen-sft-v2", owner="ZH", tags=["qwen"]))
        await wait_for_text(pilot, "qwen-sft-v2")
        assert rows(app) == 2

        await pilot.press("slash", "q", "w")
        assert rows(app) == 1
        assert "印章大模型" not in screen_text(pilot)
        await pilot.press("escape")  # clears the filter
        assert rows(app) == 2

        # Enter in the filter opens the match at once (one press)
        await pilot.press("slash", "q", "w", "e", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectScreen)
                       and app.screen.project is not None
                       and app.screen.project.name == "qwen-sft-v2", what="the match opened")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectsScreen))
        await pilot.press("slash", "escape")
        assert rows(app) == 2

        # archived elsewhere: hidden, and counted; "a" shows it again
        await client.update_project("qwen-sft-v2", ProjectUpdate(status="archived"))
        await wait_for(pilot, lambda: rows(app) == 1, what="the archived project hidden")
        assert "1 archived hidden" in screen_text(pilot)
        await pilot.press("a")
        assert rows(app) == 2
        assert "○ archived" in screen_text(pilot)


async def test_create_a_project_from_the_form(server: Server, client: TrainyardClient) -> None:
    app = live_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectsScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectForm))
        # the first field has focus: what is typed goes into the name
        assert app.screen.focused is app.screen.query_one("#field-name", Input)
        body = project_body("from-the-tui")
        for field in ("name", "objective", "task_type", "owner", "dataset_name",
                      "training_yaml_name", "description"):
            app.screen.query_one(f"#field-{field}", Input).value = getattr(body, field)
        app.screen.query_one("#field-tags", Input).value = "a, b"
        await pilot.press("ctrl+s")
        await wait_for_text(pilot, "from-the-tui")
        created = await client.get_project("from-the-tui")
        assert created.tags == ["a", "b"] and created.owner == "LL"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectScreen))


async def test_a_run_started_elsewhere_updates_the_row_in_place(
        server: Server, client: TrainyardClient) -> None:
    await client.create_project(project_body("counted"))
    app = live_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "counted")
        screen = app.screen
        assert isinstance(screen, ProjectsScreen)
        loads = []
        original = screen._load
        screen._load = lambda: loads.append(1) or original()  # type: ignore[method-assign]
        await client.start_run("counted", RunCreate("true"))
        await wait_for(pilot, lambda: next(iter(screen.projects.values())).runs_started == 1,
                       what="the run counted")
        assert loads == []  # from the event itself, not a refetch of the whole list
async def test_the_form_uses_what_was_typed_and_says_why_it_is_refused(
        server: Server, client: TrainyardClient) -> None:
    app = live_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectsScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectForm))
        body = project_body("ok")
        for field in ("objective", "task_type", "owner", "dataset_name",
                      "training_yaml_name"):
            app.screen.query_one(f"#field-{field}", Input).value = getattr(body, field)
        for key in ("space", "space", *"padded", "space", "space"):
            await pilot.press(key)  # typed into the focused name field
        await pilot.press("ctrl+s")
        await wait_for_text(pilot, "name: must not start or end with a space (did you mean "
                                   "'padded'?)")
        assert isinstance(app.screen, ProjectForm)
    assert await client.list_projects() == []


async def test_mine_lists_only_the_callers_projects_live(
        shared_server: Server, shared_client: TrainyardClient, project_name: str) -> None:
    # The test token is user "admin": owner "admin" is theirs, any other owner is not.
    await shared_client.create_project(project_body(f"{project_name}-mine", owner="admin"))
    await shared_client.create_project(project_body(f"{project_name}-theirs", owner="ZH"))
    app = live_app(shared_server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, f"{project_name}-theirs")
        assert "m Mine" in screen_text(pilot)  # the key, in the footer
        await pilot.press("m")
        await wait_for_text(pilot, "of your")
        text = screen_text(pilot)
        assert f"{project_name}-mine" in text and f"{project_name}-theirs" not in text
        assert "m All" in text
        screen = app.screen
        assert isinstance(screen, ProjectsScreen)
        assert all(p.owner == "admin" for p in screen.projects.values())

        # Live: a project of mine appears, one of someone else's does not.
        await shared_client.create_project(project_body(f"{project_name}-new", owner="admin"))
        await shared_client.create_project(project_body(f"{project_name}-other", owner="KM"))
        await wait_for_text(pilot, f"{project_name}-new")
        assert f"{project_name}-other" not in screen_text(pilot)

        await pilot.press("m")
        await wait_for_text(pilot, f"{project_name}-other")
        assert f"{project_name}-theirs" in screen_text(pilot)
