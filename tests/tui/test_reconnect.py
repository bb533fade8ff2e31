"""The server goes away while the app is open: the app says so, keeps what it shows, and
picks every stream up again by itself once the server is back, missing nothing."""

from __future__ import annotations

import signal

from common.client import TrainyardClient
from common.models import RunCreate
from tests.conftest import Server, project_body
from tests.helpers import all_logs
from tests.tui.conftest import TRAINER_CMD
from tests.tui.helpers import SIZE, live_app, screen_text, wait_for, wait_for_text
from tui.screens.run import RunScreen


async def test_server_killed_and_restarted_while_watching_a_run(
        server: Server, client: TrainyardClient) -> None:
    project = await client.create_project(project_body())
    run = await client.start_run(project.id, RunCreate(start_command=TRAINER_CMD))
    app = live_app(server)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(RunScreen(project.id, run.id, project.name))
        view = app.screen
        assert isinstance(view, RunScreen)
        await wait_for_text(pilot, "Saving model checkpoint")

        server.stop(signal.SIGKILL)
        await wait_for_text(pilot, "server unreachable")
        assert not app.link_state.online
        assert view.model is not None
        seen = len(view.model.lines)
        assert "Saving model checkpoint" in screen_text(pilot)  # the last data stays

        server.start()  # same port, same database: the run went on meanwhile
        await wait_for(pilot, lambda: app.link_state.online, timeout=15, what="reconnected")
        assert "server unreachable" not in screen_text(pilot)
        # Lines written while the server was down, and after, arrive: none twice, none lost.
        await wait_for(pilot, lambda: len(view.model.lines) > seen + 20,  # type: ignore[union-attr]
                       what="lines from after the restart")
        await client.cancel(project.id, run.id, grace_seconds=1)
        await wait_for(pilot, lambda: view.model is not None and view.model.ended,
                       what="the stream's end")
        seqs = [entry.seq for entry in view.model.lines]
        assert seqs == sorted(set(seqs)), "a line was repeated or came out of order"
        stored = [entry.seq for entry in await all_logs(client, project.id, run.id)]
        expected = stored[stored.index(seqs[0]):]
        assert seqs == expected, (f"lines lost across the restart: "
                                  f"{sorted(set(expected) - set(seqs))}; extra: "
                                  f"{sorted(set(seqs) - set(expected))}")
        await wait_for_text(pilot, "■ canceled")
