"""SSE streams against a real server and a real trainer: replay, reconnects, slow clients."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import httpx

from common.client import ServerEvent, TrainyardClient
from common.models import ProjectUpdate, RunCreate

from ..conftest import TOKEN, Server, make_workspace, project_body
from ..helpers import wait_for_status

TRAIN = "python3 tiny_trainer.py --config configs/tiny.yaml"


def seqs_of(events: list[ServerEvent]) -> list[int]:
    """Every sequence number the events carried, log lines one by one."""
    seqs: list[int] = []
    for event in events:
        if event.event == "log":
            seqs.extend(line["seq"] for line in event.data["lines"])
        elif event.event != "end":
            seqs.append(int(event.id or 0))
    return seqs


async def collect(api: TrainyardClient, project: str, run_id: str,
                  last_event_id: str | None = None) -> list[ServerEvent]:
    return [e async for e in api.run_events(project, run_id, last_event_id=last_event_id)]


async def test_a_finished_run_replays_everything_then_ends(client: TrainyardClient) -> None:
    await client.create_project(project_body("replay"))
    run = await client.start_run("replay", RunCreate(f"{TRAIN} --step-delay 0.02"))
    live = asyncio.create_task(collect(client, "replay", run.id))
    await wait_for_status(client, "replay", run.id, {"completed"})
    watched = await asyncio.wait_for(live, 30)  # the stream ends by itself
    replayed = await collect(client, "replay", run.id)
    for events in (watched, replayed):
        assert events[-1].event == "end"
        kinds = {e.event for e in events}
        assert {"status", "log", "metrics", "progress", "artifact"} <= kinds
        statuses = [e.data["status"] for e in events if e.event == "status"]
        assert statuses[-1] == "completed" and "running" in statuses
        seqs = seqs_of(events)
        assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate
    assert seqs_of(watched) == seqs_of(replayed)
    last_progress = [e.data for e in replayed if e.event == "progress"][-1]
    assert last_progress["current_step"] == 60 and last_progress["progress"] == 1.0
    losses = [e.data for e in replayed if e.event == "metrics" and "loss" in e.data["values"]]
    assert len(losses) >= 6 and losses[0]["values"]["loss"] > losses[-1]["values"]["loss"]


async def test_odd_bytes_read_the_same_live_and_replayed(client: TrainyardClient) -> None:
    # A NUL and a byte that is not UTF-8: the live stream and the stored log must agree.
    await client.create_project(project_body("odd"))
    run = await client.start_run("odd", RunCreate("sleep 0.5; printf 'a\\0b\\n\\377c\\nend\\n'"))
    live = asyncio.create_task(collect(client, "odd", run.id))
    await wait_for_status(client, "odd", run.id, {"completed"})
    replayed = await collect(client, "odd", run.id)

    def printed(events: list[ServerEvent]) -> list[str]:
        return [line["message"] for e in events if e.event == "log"
                for line in e.data["lines"] if line["stream"] == "stdout"]

    assert printed(await asyncio.wait_for(live, 30)) == printed(replayed) == [
        "a\ufffdb", "\ufffdc", "end"]


async def test_dropping_the_connection_many_times_loses_and_repeats_nothing(
        tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", max_steps=400, save_steps=100,
                               step_delay=0.01)
    srv = Server(data_dir=tmp_path / "data", workspace=workspace).start()
    try:
        async with srv.client() as api:
            await api.create_project(project_body("flaky"))
            run = await api.start_run("flaky", RunCreate(f"{TRAIN} --lines-per-step 5"))
            got: list[ServerEvent] = []
            last_id: str | None = None
            reconnects = 0
            rng = random.Random(7)
            while not got or got[-1].event != "end":
                take = rng.randint(1, 5)  # few events per connection: many reconnects
                async for event in api.run_events("flaky", run.id, last_event_id=last_id):
                    got.append(event)
                    last_id = event.id or last_id
                    take -= 1
                    if take == 0 or event.event == "end":
                        break
                reconnects += 1
            full = await collect(api, "flaky", run.id)
        assert reconnects >= 20
        assert seqs_of(got) == seqs_of(full) == list(range(1, len(seqs_of(full)) + 1))
        lines = [line["message"] for e in got if e.event == "log" for line in e.data["lines"]]
        assert sum(m.startswith("{'loss':") for m in lines) == 80
    finally:
        srv.stop()


async def test_a_stalled_client_catches_up_without_blocking_others(tmp_path: Path) -> None:
    # A 4-frame queue per client, so the stalled one surely overflows and must catch up.
    workspace = make_workspace(tmp_path / "ws")
    (workspace / "firehose.py").write_text(
        "import time\n"
        "for i in range(1, 20001):\n"
        "    print(f'line-{i} ' + 'x' * 200)\n"
        "    if i % 500 == 0:\n"
        "        time.sleep(0.02)\n")
    srv = Server(data_dir=tmp_path / "data", workspace=workspace,
                 env_extra={"TRAINYARD_SSE_QUEUE": "4", "TRAINYARD_LOG_LEVEL": "info"}).start()
    try:
        async with srv.client() as api:
            await api.create_project(project_body("firehose"))
            run = await api.start_run("firehose", RunCreate("python3 firehose.py"))
            # A raw client that connects, reads one chunk, then stalls for a while.
            async with httpx.AsyncClient(base_url=srv.url, timeout=None) as raw, raw.stream(
                    "GET", f"/projects/firehose/runs/{run.id}/events",
                    params={"access_token": TOKEN}) as stalled:
                chunks = stalled.aiter_bytes()
                first = await chunks.__anext__()
                assert first.startswith(b"retry:")
                healthy = await asyncio.wait_for(collect(api, "firehose", run.id), 60)
                body = first
                async for chunk in chunks:
                    body += chunk
        assert healthy[-1].event == "end"
        text = body.decode()
        for i in (1, 1500, 10000, 20000):
            assert text.count(f'"message":"line-{i} x') == 1
        assert text.rstrip().splitlines()[-2] == "event: end"
        assert "fell behind" in srv.output()  # it really was cut off and caught up
    finally:
        srv.stop()


async def test_list_view_changes_and_gpu_stream(tmp_path: Path) -> None:
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "nvml-h100"
    srv = Server(data_dir=tmp_path / "data", workspace=make_workspace(tmp_path / "ws"),
                 env_extra={"TRAINYARD_GPU_SOURCE": f"replay:{fixture / 'nvml_samples.jsonl'}",
                            "TRAINYARD_GPU_INTERVAL": "0.2"}).start()
    try:
        async with srv.client() as api:
            changes: list[ServerEvent] = []

            async def watch() -> None:
                async for event in api.events("/events"):
                    changes.append(event)

            watcher = asyncio.create_task(watch())
            await asyncio.sleep(0.3)
            await api.create_project(project_body("watched"))
            await api.update_project("watched", ProjectUpdate(owner="someone"))
            run = await api.start_run("watched", RunCreate("true"))
            await wait_for_status(api, "watched", run.id, {"completed"})
            await asyncio.sleep(0.5)
            watcher.cancel()
            kinds = [e.event for e in changes]
            assert "project.created" in kinds and "project.updated" in kinds
            statuses = [e.data["data"]["status"] for e in changes if e.event == "run.status"]
            assert statuses[-1] == "completed"
            # Resuming with the last id replays what came after it, from the ring.
            middle = changes[1].id
            replay = []
            async for event in api.events("/events", last_event_id=middle):
                replay.append(event)
                if len(replay) == len(changes) - 2:
                    break
            assert [e.id for e in replay] == [e.id for e in changes[2:]]

            gpus = []
            async for event in api.events("/gpus/events"):
                gpus.append(event.data)
                if len(gpus) == 3:
                    break
            assert all(g["available"] and g["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"
                       for g in gpus)
            snapshot = await api.gpus()
            assert snapshot.available and snapshot.gpus[0].memory_total == 85520809984
    finally:
        srv.stop()


async def test_streams_need_the_token_in_a_header_or_the_query(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as raw:
        refused = await raw.get("/events")
        assert refused.status_code == 401
        async with raw.stream("GET", "/gpus/events", params={"access_token": TOKEN}) as ok:
            assert ok.status_code == 200
            assert ok.headers["content-type"].startswith("text/event-stream")
        # Only stream routes take the query token.
        assert (await raw.get("/projects", params={"access_token": TOKEN})).status_code == 401


async def test_gpus_without_nvml_say_so_and_the_server_runs(client: TrainyardClient) -> None:
    snapshot = await client.gpus()
    assert snapshot.available is False and snapshot.reason
    assert "NVML" in snapshot.reason or "nvidia" in snapshot.reason.lower()
