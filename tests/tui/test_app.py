"""What the app says when it cannot work: a wrong token, a server that is not there."""

from __future__ import annotations

from tests.conftest import Server, free_port
from tests.tui.helpers import SIZE, Notes, wait_for, wait_for_text
from tui.api import HttpApi
from tui.app import TrainyardApp


async def test_a_wrong_token_is_reported_with_the_servers_message(
        shared_server: Server) -> None:
    notes = Notes()
    url = shared_server.url
    app = TrainyardApp(HttpApi(url, "not-the-token-0123456789"), url=url)
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await wait_for(pilot, lambda: any("unauthorized" in t for _, t, _ in notes.seen),
                       what="an 'unauthorized' notification")
        assert app.link_state.online  # the server answered: it is there


async def test_no_server_at_the_url_shows_in_the_top_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    app = TrainyardApp(HttpApi(url, "any-token-0123456789"), url=url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_text(pilot, "server unreachable (cannot connect)")
        assert not app.link_state.online
