"""Row: stopping the server (SIGTERM) with 100 event-stream clients attached.

A server of its own (a folder of its own), one run printing a line every 50 ms, 100
clients on its event stream, /events and /gpus/events. From the signal until the
process has exited; every client must have had the last ``shutdown`` event (with its
``retry``) and a clean end of its response, and the server log no ERROR line. Before the
streams listened for the stop (server/stopping.py) uvicorn waited out its 5 s graceful
timeout, then cancelled them with tracebacks.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from common.client import TrainyardClient
from common.models import ProjectCreate, RunCreate

from .servers import DATASET, TRAINING_YAML, Workspace, kill_runs, own_output_dir, start_trainyard
from .table import Row

__all__ = ["measure"]

CLIENTS = 100
TARGET_SECONDS = 1.0
TICKER = "for i in $(seq 1 1200); do echo line $i; sleep 0.05; done"


async def _read(http: httpx.AsyncClient, path: str, token: str, connected: list[int],
                all_in: asyncio.Event) -> bool:
    """True when the stream ended cleanly after the ``shutdown`` event."""
    body = b""
    try:
        async with http.stream("GET", path, headers={"Authorization": f"Bearer {token}"}
                               ) as response:
            async for chunk in response.aiter_bytes():
                if not body:
                    connected[0] += 1
                    if connected[0] == CLIENTS:
                        all_in.set()
                body += chunk
    except httpx.HTTPError:
        return False
    return b"event: shutdown" in body and b"retry: 1000" in body


async def measure(ws: Workspace, token: str) -> Row:
    stop_ws = Workspace(ws.root / "shutdown").create()
    server = start_trainyard(stop_ws, token, {"TRAINYARD_LOG_LEVEL": "info"})
    try:
        async with TrainyardClient(server.url, token) as client:
            await client.create_project(ProjectCreate(
                name="stop", objective="o", task_type="t", owner="bench",
                dataset_name=DATASET, training_yaml_name=TRAINING_YAML))
            run = await client.start_run("stop", RunCreate(TICKER, output_dir=own_output_dir()))
        paths = [f"/projects/stop/runs/{run.id}/events", "/events", "/gpus/events"]
        connected, all_in = [0], asyncio.Event()
        limits = httpx.Limits(max_connections=CLIENTS + 10)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
            readers = [asyncio.create_task(_read(http, paths[n % 3], token, connected, all_in))
                       for n in range(CLIENTS)]
            await asyncio.wait_for(all_in.wait(), 30)
            began = time.perf_counter()
            await asyncio.to_thread(server.stop)  # SIGTERM, and wait for the exit
            took = time.perf_counter() - began
            told = sum(await asyncio.gather(*readers))
        log = server.log_tail(10_000)
    finally:
        server.stop()
        kill_runs(stop_ws)  # the run is detached and goes on after its server: end it
    errors = sum(("ERROR" in line or "Traceback" in line) for line in log.splitlines())
    return Row(f"stop (SIGTERM) with {CLIENTS} event-stream clients attached: until the "
               "process exits",
               f"{took:.2f} s; {told}/{CLIENTS} clients got 'shutdown' + retry and a clean "
               f"end; {errors} ERROR/Traceback lines",
               "5.25 s and 4 tracebacks before the streams listened for the stop",
               "—", f"< {TARGET_SECONDS:g} s, all told, no ERROR",
               took < TARGET_SECONDS and told == CLIENTS and errors == 0)


if __name__ == "__main__":
    from .standalone import run, with_workspace

    run(with_workspace(measure))
