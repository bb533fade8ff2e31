"""What the app says when it cannot work: a wrong token, a server too old or not there."""

from __future__ import annotations

from datetime import UTC

from textual.widgets import Input

from common.client import TrainyardClient
from tests.conftest import TOKEN, Server, free_port, project_body
from tests.tui.frozen import NOW, URL, FrozenApi
from tests.tui.helpers import SIZE, screen_text, wait_for_text
from tui.api import HttpApi
from tui.app import TrainyardApp
from tui.screens import ProjectsScreen, RefusedScreen
from tui.widgets import TopBar


async def test_a_wrong_token_is_a_red_line_and_a_screen_until_a_good_one_works(
        shared_server: Server, shared_client: TrainyardClient, project_name: str) -> None:
    await shared_client.create_project(project_body(project_name))
    url = shared_server.url
    app = TrainyardApp(HttpApi(url, "not-the-token-0123456789"), url=url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "The server refused the token")
        text = screen_text(pilot)
        assert "✖ token refused (401 invalid token)" in text  # the top line
        assert "TRAINYARD_TOKEN" in text and "trainyard token" in text  # how to fix it
        assert "No projects yet" not in text and "of 0 projects" not in text
        assert app.link_state.online  # the server answered: it is there
        assert app.screen.query_one(TopBar).has_class("-offline")  # drawn in red
        await pilot.press("escape")  # nothing to go back to: the empty list stays hidden
        assert isinstance(app.screen, RefusedScreen)

        for key in "still-wrong-token-0123":
            await pilot.press(key)
        await pilot.press("enter")
        await wait_for_text(pilot, "Still refused: invalid token (401).")

        app.screen.query_one("#token", Input).value = TOKEN
        await pilot.press("enter")
        await wait_for_text(pilot, project_name)
        assert isinstance(app.screen, ProjectsScreen) and app.refusal is None
        assert "token refused" not in screen_text(pilot)
        assert not app.screen.query_one(TopBar).has_class("-offline")


async def test_a_server_too_old_for_the_client_says_so() -> None:
    app = TrainyardApp(FrozenApi(api_version=None), url=URL, clock=lambda: NOW, tz=UTC)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_text(pilot, "The server is too old for this TUI")
        text = screen_text(pilot)
        assert "✖ server too old" in text and "Update the server" in text
        assert isinstance(app.screen, RefusedScreen)


async def test_the_projects_list_says_loading_rather_than_empty_before_it_has_data() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    app = TrainyardApp(HttpApi(url, "any-token-0123456789"), url=url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "server unreachable")
        text = screen_text(pilot)
        assert f"Loading projects from {url}" in text and "No projects yet" not in text


async def test_no_server_at_the_url_shows_in_the_top_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    app = TrainyardApp(HttpApi(url, "any-token-0123456789"), url=url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "server unreachable (cannot connect)")
        assert not app.link_state.online
