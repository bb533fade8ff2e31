"""Stopping the server with stream clients attached: every client is told to come back,
nothing errors, and the run (detached from the server) goes on and is followed again."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pytest

from common.models import RunCreate

from ..conftest import TOKEN, Server, make_workspace, project_body
from ..helpers import all_logs, wait_until

AUTH = {"Authorization": f"Bearer {TOKEN}"}
CLIENTS = 100
LOOP = "for i in $(seq 1 400); do echo line $i; sleep 0.05; done"


async def _read(http: httpx.AsyncClient, path: str, started: asyncio.Event,
                counter: list[int]) -> bytes:
    """The whole response; raises if it is cut off (an unfinished chunked body)."""
    body = b""
    async with http.stream("GET", path, headers=AUTH) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_bytes():
            if not body:
                counter[0] += 1
                if counter[0] == CLIENTS:
                    started.set()
            body += chunk
    return body


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_signal_ends_every_stream_cleanly_and_the_run_goes_on(
        tmp_path: Path, sig: signal.Signals) -> None:
    srv = Server(data_dir=tmp_path / "data", workspace=make_workspace(tmp_path / "ws"),
                 env_extra={"TRAINYARD_LOG_LEVEL": "info"}).start()
    try:
        async with srv.client() as api:
            await api.create_project(project_body("stays"))
            run = await api.start_run("stays", RunCreate(LOOP))
            await wait_until(lambda: _lines(api, run.id, 5), what="the first lines")
        paths = [f"/projects/stays/runs/{run.id}/events", "/events", "/gpus/events"]
        started, counter = asyncio.Event(), [0]
        limits = httpx.Limits(max_connections=CLIENTS + 10)
        async with httpx.AsyncClient(base_url=srv.url, limits=limits, timeout=30) as http:
            readers = [asyncio.create_task(_read(http, paths[n % 3], started, counter))
                       for n in range(CLIENTS)]
            await asyncio.wait_for(started.wait(), 20)
            assert srv.proc is not None
            began = time.monotonic()
            srv.proc.send_signal(sig)
            bodies = await asyncio.gather(*readers)  # raises if one was cut mid-chunk
            await asyncio.to_thread(srv.proc.wait, 10)
            took = time.monotonic() - began
        output = srv.output()
        srv.proc = None
        for body in bodies:
            assert body.endswith(b"event: shutdown\ndata: {\"reason\":\"the server is "
                                 b"stopping or restarting; reconnect with Last-Event-ID to "
                                 b"resume\"}\n\n")
            assert b"retry: 1000\nevent: shutdown" in body
        assert "Traceback" not in output and "ERROR" not in output, output
        assert "timeout graceful shutdown exceeded" not in output
        print(f"{sig.name}: {CLIENTS} stream clients, stopped in {took:.2f} s")
        assert took < 5, f"the stop took {took:.2f} s: uvicorn's timeout, not the streams"

        # The run did not stop with the server: restarted, it is still running and followed.
        srv.start()
        async with srv.client() as api:
            before = len(await all_logs(api, "stays", run.id))
            assert (await api.get_run("stays", run.id)).status == "running"
            await wait_until(lambda: _lines(api, run.id, before + 10),
                             what="lines written after the restart")
            await api.cancel("stays", run.id, grace_seconds=1)
    finally:
        srv.stop()


async def _lines(api: object, run_id: str, count: int) -> bool:
    return len(await all_logs(api, "stays", run_id)) >= count  # type: ignore[arg-type]
