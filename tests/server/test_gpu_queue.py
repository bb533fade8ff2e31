"""The GPU queue against a real server whose sampler replays an 8-GPU server (built from
real H100 readings): runs ask for GPUs, wait their turn in order, get their GPUs in their
environment, and never land on a GPU that a process outside Trainyard uses."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.client import ApiError, TrainyardClient
from common.models import ProjectUpdate, RunCreate, RunDetail

from ..conftest import project_body
from ..gpu_replay import eight_gpus
from ..helpers import all_logs, wait_for_status, wait_until
from .executors import Core, start_core

SHOW = 'echo "CVD=$CUDA_VISIBLE_DEVICES NPROC=$NPROC_PER_NODE IDS=$TRAINYARD_GPU_IDS"'
RUNNING = {"running", "completed", "failed", "canceled"}


def _env(replay: Path, **extra: str) -> dict[str, str]:
    return {"TRAINYARD_GPU_SOURCE": f"replay:{replay}", "TRAINYARD_GPU_INTERVAL": "0.2",
            **extra}


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def core(request: pytest.FixtureRequest, tmp_path: Path, workspace: Path) -> Iterator[Core]:
    found = start_core(request.param, tmp_path, workspace, _env(eight_gpus(tmp_path / "8.jsonl")))
    yield found
    found.stop()


@pytest.fixture
def busy_gpu6(tmp_path: Path, workspace: Path) -> Iterator[Core]:
    replay = eight_gpus(tmp_path / "8-busy.jsonl", foreign_on=6)
    found = start_core("local", tmp_path, workspace, _env(replay))
    yield found
    found.stop()


async def _gpus_seen(api: TrainyardClient) -> None:
    async def seen() -> bool:
        return len((await api.gpus()).gpus) == 8
    await wait_until(seen, what="the sampler's first reading")


def _given(detail: RunDetail) -> list[int]:
    return sorted(detail.gpu_ids or [])


async def _printed(api: TrainyardClient, project: str, run_id: str) -> str:
    async def line() -> str | None:
        return next((e.message for e in await all_logs(api, project, run_id)
                     if e.message.startswith("CVD=")), None)
    return await wait_until(line, what="the run's CUDA_VISIBLE_DEVICES")


async def test_three_runs_of_four_gpus_on_eight(core: Core) -> None:
    async with core.server.client() as api:
        await _gpus_seen(api)
        uuids = {g.index: g.uuid for g in (await api.gpus()).gpus}
        await api.create_project(project_body("fours", gpus=4))
        runs = [await api.start_run("fours", RunCreate(f"{SHOW}; sleep {s}",
                                                       output_dir=f"o/{i}"))
                for i, s in enumerate((3, 60, 60))]
        assert all(r.status == "pending" and r.gpus == 4 for r in runs)
        first, second = [await wait_for_status(api, "fours", r.id, RUNNING) for r in runs[:2]]
        assert sorted(_given(first) + _given(second)) == list(range(8))
        third = await api.get_run("fours", runs[2].id)
        assert third.status == "pending" and third.queue_position == 1
        assert third.pending_reason and first.id in third.pending_reason
        assert second.id in third.pending_reason
        queue = await api.http.get("/queue")
        assert [r["run_id"] for r in queue.json()["runs"]] == [third.id]
        holders = {g["index"]: g["run_id"] for g in queue.json()["gpus"]}
        assert {holders[i] for i in _given(first)} == {first.id}

        printed = await _printed(api, "fours", first.id)
        want = ",".join(uuids[i] for i in _given(first))
        assert printed == f"CVD={want} NPROC=4 IDS={','.join(map(str, _given(first)))}"

        # The first ends: the third starts on the GPUs it freed.
        third = await wait_for_status(api, "fours", third.id, RUNNING, timeout=30)
        assert _given(third) == _given(first)
        assert third.pending_reason is None and third.queue_position is None
        for run in (second, third):
            await api.cancel("fours", run.id, grace_seconds=1)


async def test_a_gpu_used_outside_trainyard_is_never_handed_out(busy_gpu6: Core) -> None:
    async with busy_gpu6.server.client() as api:
        await _gpus_seen(api)
        await api.create_project(project_body("shared"))
        seven = await api.start_run("shared", RunCreate(f"{SHOW}; sleep 60", gpus=7,
                                                        output_dir="o/7"))
        seven = await wait_for_status(api, "shared", seven.id, RUNNING)
        assert 6 not in _given(seven) and len(_given(seven)) == 7
        one = await api.start_run("shared", RunCreate("sleep 60", gpus=1, output_dir="o/1"))
        await asyncio.sleep(1.0)
        one = await api.get_run("shared", one.id)
        assert one.status == "pending"
        assert "GPU 6 used by pid 4242" in (one.pending_reason or "")
        assert "20.1 GiB" in (one.pending_reason or "") and "outside Trainyard" in (
            one.pending_reason or "")
        # Cancel while waiting: it ends without anything started.
        canceled = await api.cancel("shared", one.id, grace_seconds=1)
        assert canceled.status == "canceled" and canceled.started_at is None
        assert "nothing had started" in (canceled.status_message or "")
        assert not (busy_gpu6.run_dir(one.id) / "stdout.log").exists()
        await api.cancel("shared", seven.id, grace_seconds=1)


async def test_too_many_gpus_is_400_naming_both_numbers(core: Core) -> None:
    async with core.server.client() as api:
        await _gpus_seen(api)
        await api.create_project(project_body("greedy"))
        with pytest.raises(ApiError) as err:
            await api.start_run("greedy", RunCreate("true", gpus=9))
        assert err.value.status_code == 400 and err.value.code == "not_enough_gpus"
        assert "9" in err.value.body.message and "8" in err.value.body.message
        assert await api.list_runs("greedy") == []


async def test_priority_then_arrival_and_priority_changes(tmp_path: Path,
                                                          workspace: Path) -> None:
    found = start_core("local", tmp_path, workspace, _env(eight_gpus(tmp_path / "8.jsonl")))
    try:
        async with found.server.client() as api:
            await _gpus_seen(api)
            await api.create_project(project_body("order"))
            blocker = await api.start_run("order", RunCreate("sleep 60", gpus=8,
                                                             output_dir="o/all"))
            await wait_for_status(api, "order", blocker.id, RUNNING)
            low = await api.start_run("order", RunCreate("sleep 60", gpus=8, output_dir="o/a"))
            high = await api.start_run("order", RunCreate("sleep 60", gpus=8, priority=5,
                                                          output_dir="o/b"))
            later = await api.start_run("order", RunCreate("sleep 60", gpus=8,
                                                           output_dir="o/c"))

            async def order() -> list[str]:
                return [r["run_id"] for r in (await api.http.get("/queue")).json()["runs"]]

            await wait_until(lambda: _is(order(), [high.id, low.id, later.id]),
                             what="priority first, then arrival")
            response = await api.http.patch(f"/projects/order/runs/{later.id}",
                                            json={"priority": 9})
            assert response.status_code == 200 and response.json()["priority"] == 9
            await wait_until(lambda: _is(order(), [later.id, high.id, low.id]),
                             what="the new priority")
            assert (await api.get_run("order", later.id)).queue_position == 1
            # Once started, its priority is history.
            response = await api.http.patch(f"/projects/order/runs/{blocker.id}",
                                            json={"priority": 1})
            assert response.status_code == 409
            await api.cancel("order", blocker.id, grace_seconds=1)
            await wait_for_status(api, "order", later.id, RUNNING)
            for run in (later, high, low):
                await api.cancel("order", run.id, grace_seconds=1)
    finally:
        found.stop()


@pytest.mark.parametrize("backfill", [60, 0])
async def test_backfill_only_within_the_time_limit(tmp_path: Path, workspace: Path,
                                                   backfill: int) -> None:
    env = _env(eight_gpus(tmp_path / "8.jsonl"), TRAINYARD_BACKFILL_SECONDS=str(backfill))
    found = start_core("local", tmp_path, workspace, env)
    try:
        async with found.server.client() as api:
            await _gpus_seen(api)
            await api.create_project(project_body("fill"))
            six = await api.start_run("fill", RunCreate("sleep 60", gpus=6, output_dir="o/6"))
            await wait_for_status(api, "fill", six.id, RUNNING)
            big = await api.start_run("fill", RunCreate("sleep 60", gpus=4, output_dir="o/4"))
            await asyncio.sleep(0.5)
            small = await api.start_run("fill", RunCreate("sleep 60", gpus=2,
                                                          output_dir="o/2"))
            await asyncio.sleep(1.5)
            small = await api.get_run("fill", small.id)
            if backfill:  # the big run has waited less than the limit: the small one passes
                assert small.status == "running"
            else:  # past the limit, the free GPUs are held for the head of the queue
                assert small.status == "pending"
                assert f"held for {big.id}" in (small.pending_reason or "")
            for run in (six, big, small):
                await api.cancel("fill", run.id, grace_seconds=1)
    finally:
        found.stop()


async def test_the_queue_survives_kill_9(tmp_path: Path, workspace: Path) -> None:
    found = start_core("local", tmp_path, workspace, _env(eight_gpus(tmp_path / "8.jsonl")))
    srv = found.server
    try:
        async with srv.client() as api:
            await _gpus_seen(api)
            await api.create_project(project_body("durable", gpus=8))
            first = await api.start_run("durable", RunCreate("sleep 4", output_dir="o/1"))
            await wait_for_status(api, "durable", first.id, RUNNING)
            waiting = [await api.start_run("durable", RunCreate(
                f"{SHOW}; sleep 60", output_dir=f"o/w{i}", priority=i % 2)) for i in range(3)]
            await asyncio.sleep(0.5)
            before = (await api.http.get("/queue")).json()["runs"]
        srv.stop(signal.SIGKILL)
        await asyncio.sleep(4)  # the first run ends while the server is down
        srv.start()
        async with srv.client() as api:
            order = [r["run_id"] for r in before]
            assert order == [waiting[1].id, waiting[0].id, waiting[2].id]
            head = await wait_for_status(api, "durable", order[0], RUNNING, timeout=30)
            assert _given(head) == list(range(8))  # the ended run's GPUs were freed
            rest = [await api.get_run("durable", run_id) for run_id in order[1:]]
            assert [r.status for r in rest] == ["pending", "pending"]
            assert [r.queue_position for r in rest] == [1, 2]
            assert head.id in (rest[0].pending_reason or "")
            for run_id in order:
                await api.cancel("durable", run_id, grace_seconds=1)
    finally:
        found.stop()


async def test_a_project_without_gpus_starts_at_once_as_before(core: Core) -> None:
    async with core.server.client() as api:
        await api.create_project(project_body("plain"))
        run = await api.start_run("plain", RunCreate(f"{SHOW}"))
        assert run.status == "running" and run.gpus is None and run.gpu_ids is None
        assert "CUDA_VISIBLE_DEVICES" not in run.env
        await wait_for_status(api, "plain", run.id, {"completed"})
        await api.update_project("plain", ProjectUpdate(gpus=2))
        assert (await api.get_project("plain")).gpus == 2


async def _is(got: object, want: object) -> bool:
    return await got == want  # type: ignore[misc, no-any-return]


async def test_a_run_on_a_gpu_it_was_not_given_is_flagged(tmp_path: Path,
                                                          workspace: Path) -> None:
    found = start_core("local", tmp_path, workspace, _env(eight_gpus(tmp_path / "8.jsonl")))
    srv = found.server
    try:
        async with srv.client() as api:
            await _gpus_seen(api)
            await api.create_project(project_body("stray"))
            run = await api.start_run("stray", RunCreate("sleep 60", gpus=1))
            run = await wait_for_status(api, "stray", run.id, RUNNING)
            assert _given(run) == [0]
        with sqlite3.connect(srv.data_dir / "trainyard.db") as db:
            (wrapper,) = db.execute("SELECT host_pid FROM runs WHERE id = ?",
                                    (run.id,)).fetchone()
        srv.stop(signal.SIGKILL)
        # Its (replayed) worker now shows on GPU 3, under the run's real wrapper.
        replay = eight_gpus(tmp_path / "stray.jsonl", planted=(3, 999_999, wrapper))
        srv.env_extra["TRAINYARD_GPU_SOURCE"] = f"replay:{replay}"
        srv.start()
        async with srv.client() as api:
            async def flagged() -> bool:
                return any("uses GPU 3, which it was not given" in e.message
                           for e in await all_logs(api, "stray", run.id))
            await wait_until(flagged, what="the warning")
            await api.cancel("stray", run.id, grace_seconds=1)
    finally:
        found.stop()


async def test_gpus_of_an_ended_run_show_free_with_no_run_waiting(tmp_path: Path,
                                                                  workspace: Path) -> None:
    found = start_core("local", tmp_path, workspace, _env(eight_gpus(tmp_path / "8.jsonl")))
    try:
        async with found.server.client() as api:
            await _gpus_seen(api)
            await api.create_project(project_body("freed"))
            run = await api.start_run("freed", RunCreate("sleep 1", gpus=2))
            await wait_for_status(api, "freed", run.id, RUNNING)

            async def holders() -> set[str]:
                body = (await api.http.get("/queue")).json()
                return {g["run_id"] for g in body["gpus"] if g["run_id"]}

            await wait_until(lambda: _is(holders(), {run.id}), what="the run holding GPUs")
            await wait_for_status(api, "freed", run.id, {"completed"})
            await wait_until(lambda: _is(holders(), set()), what="its GPUs free again")
    finally:
        found.stop()
