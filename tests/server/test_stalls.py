"""Stalls: a running run silent past its limit is flagged (log line, RunDetail, stream
event, ``run.stalled`` notification), cleared when it moves again, and never stopped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.models import ProjectUpdate, RunCreate

from ..conftest import TOKEN, Server, make_workspace, project_body
from ..helpers import all_logs, wait_for_status, wait_until
from .receiver import Receiver

# Prints, goes quiet for 6 s, prints again, ends.
QUIET = ("python3 -c 'import time; print(\"working\", flush=True); time.sleep(6); "
         "print(\"back\", flush=True); time.sleep(0.5)'")


@pytest.fixture
def stall_server(tmp_path: Path) -> Iterator[Server]:
    workspace = make_workspace(tmp_path / "ws")
    srv = Server(data_dir=tmp_path / "data", workspace=workspace,
                 env_extra={"TRAINYARD_STALL_SECONDS": "3600"}).start()
    yield srv
    srv.stop()


async def test_a_quiet_run_is_flagged_then_cleared_and_left_running(
        stall_server: Server) -> None:
    receiver = Receiver().start()
    try:
        async with stall_server.client() as api:
            await api.create_project(project_body("quick", stall_seconds=1))
            await api.create_project(project_body("patient"))  # the server's 3600 s
            httpx.post(f"{stall_server.url}/webhooks", json={
                "url": receiver.url, "events": ["run.stalled"]},
                headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()
            quick = await api.start_run("quick", RunCreate(start_command=QUIET))
            patient = await api.start_run("patient", RunCreate(start_command=QUIET,
                                                               output_dir="saves/other"))

            async def flagged() -> object:
                run = await api.get_run("quick", quick.id)
                return run if run.stalled_since else None
            run = await wait_until(flagged, timeout=10, what="the stall flag")
            assert run.status == "running"
            [notice] = receiver.wait(1)
            body = json.loads(notice.body)
            assert body["event"] == "run.stalled" and body["run"]["id"] == quick.id
            assert "silent since" in body["message"]

            done = await wait_for_status(api, "quick", quick.id, {"completed", "failed"})
            assert done.status == "completed" and done.stalled_since is None
            messages = [e.message for e in await all_logs(api, "quick", quick.id)]
            warned = [m for m in messages if m.startswith("no log line and no progress for 1 s")]
            assert len(warned) == 1
            assert any(m.startswith("the run moves again") for m in messages)
            assert messages.index(warned[0]) < messages.index("back")

            other = await wait_for_status(api, "patient", patient.id, {"completed"})
            assert not any("stalled" in e.message
                           for e in await all_logs(api, "patient", other.id))
            assert len(receiver.received) == 1
            changed = await api.update_project("patient", ProjectUpdate(stall_seconds=60))
            assert changed.stall_seconds == 60
    finally:
        receiver.stop()
