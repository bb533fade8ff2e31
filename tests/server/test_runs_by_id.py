"""Runs named by their id alone (``/runs/...``), listing across projects, and waiting."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from common.client import ApiError, TrainyardClient
from common.models import RunCreate

from ..conftest import TOKEN, Server, project_body
from ..helpers import wait_for_status, wait_until

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_a_run_reads_the_same_by_id_and_by_project(client: TrainyardClient) -> None:
    await client.create_project(project_body("byid"))
    run = await client.start_run("byid", RunCreate("echo one; echo two"))
    await wait_for_status(client, "byid", run.id, {"completed"})
    scoped, alone = await client.get_run("byid", run.id), await client.run(run.id)
    assert alone == scoped
    assert [e.message for e in (await client.run_logs(run.id)).entries][-3:-1] == ["one", "two"]
    with pytest.raises(ApiError) as err:
        await client.run("run_doesnotexist")
    assert err.value.status_code == 404 and err.value.code == "run_not_found"


async def test_listing_across_projects_pages_newest_first(client: TrainyardClient) -> None:
    for name in ("a", "b"):
        await client.create_project(project_body(name))
    started = [await client.start_run(name, RunCreate("true", output_dir=f"o/{i}"))
               for i, name in enumerate(("a", "b", "a"))]
    for run in started:
        await wait_for_status(client, run.project_id, run.id, {"completed"})
    first = await client.list_all_runs(limit=2)
    assert [r.id for r in first.runs] == [started[2].id, started[1].id]
    assert first.next_after == started[1].id
    last = await client.list_all_runs(limit=2, after=first.next_after)
    assert [r.id for r in last.runs] == [started[0].id] and last.next_after is None
    only_a = await client.list_all_runs(project="a")
    assert [r.id for r in only_a.runs] == [started[2].id, started[0].id]
    assert (await client.list_all_runs(status="failed")).runs == []
    with pytest.raises(ApiError) as err:
        await client.list_all_runs(after="run_gone")
    assert err.value.status_code == 400 and err.value.code == "invalid_cursor"
    with pytest.raises(ApiError) as err:
        await client.list_all_runs(project="nope")
    assert err.value.code == "project_not_found"


async def test_wait_answers_when_the_run_ends_or_at_the_timeout(server: Server,
                                                                client: TrainyardClient) -> None:
    await client.create_project(project_body("w"))
    run = await client.start_run("w", RunCreate("sleep 1.5; exit 4"))
    detail, ended = await client.wait_run(run.id, seconds=0.2)
    assert not ended and detail.status == "running"
    began = time.monotonic()
    detail, ended = await client.wait_run(run.id, seconds=60)
    assert ended and detail.status == "failed" and detail.exit_code == 4
    assert time.monotonic() - began < 10  # woken by the end, not by the 60 s timeout
    # Already ended: at once, on the project-scoped route too.
    response = httpx.get(f"{server.url}/projects/w/runs/{run.id}/wait", params={"timeout": 30},
                         headers=AUTH, timeout=5)
    assert response.status_code == 200 and response.headers["X-Wait-Timed-Out"] == "false"
    assert response.json()["exit_code"] == 4
    bad = httpx.get(f"{server.url}/runs/{run.id}/wait", params={"timeout": -1}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["code"] == "validation_failed"


async def test_the_end_event_says_how_the_run_finished(client: TrainyardClient) -> None:
    await client.create_project(project_body("end"))
    run = await client.start_run("end", RunCreate("echo hi; exit 7"))
    events = [event async for event in client.events_of_run(run.id)]
    end = events[-1]
    assert end.event == "end"
    assert end.data["run_id"] == run.id and end.data["status"] == "failed"
    assert end.data["exit_code"] == 7 and "kept_artifact_id" in end.data


async def test_cancel_by_id_stops_the_run(client: TrainyardClient) -> None:
    await client.create_project(project_body("c"))
    run = await client.start_run("c", RunCreate("sleep 60"))
    stopped = await client.stop_run(run.id, grace_seconds=1)
    assert stopped.status == "canceled"
    with pytest.raises(ApiError) as err:
        await client.stop_run(run.id, grace_seconds=1, pause=True)
    assert err.value.status_code == 409


async def test_a_waiter_that_goes_away_stops_waiting(server: Server,
                                                     client: TrainyardClient) -> None:
    await client.create_project(project_body("gone"))
    run = await client.start_run("gone", RunCreate("sleep 60"))

    async def waiters() -> float:
        response = httpx.get(f"{server.url}/metrics", headers=AUTH)
        return next(float(line.split()[-1]) for line in response.text.splitlines()
                    if line.startswith("trainyard_run_waiters "))

    waiting = asyncio.ensure_future(client.wait_run(run.id, seconds=600))
    await wait_until(lambda: _at_least(waiters, 1), what="the wait to begin")
    waiting.cancel()  # the script is killed: its connection closes
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await wait_until(lambda: _at_least(waiters, 0, exactly=True), timeout=10,
                     what="the server to drop the wait")
    await client.stop_run(run.id, grace_seconds=1)


async def _at_least(probe: Callable[[], Awaitable[float]], value: float, *,
                    exactly: bool = False) -> bool:
    found = await probe()
    return found == value if exactly else found >= value
