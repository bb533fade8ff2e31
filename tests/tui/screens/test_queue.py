"""The queue view against a real server whose sampler replays an 8-GPU server with a
process outside Trainyard on GPU 6: runs that ask for GPUs wait, in order, and say why."""

from __future__ import annotations

import pytest

from common.client import TrainyardClient
from common.models import RunCreate
from tests.conftest import Server, project_body
from tests.tui.helpers import SIZE, live_app, screen_text, wait_for, wait_for_text
from tui.screens.gpus import GpusScreen
from tui.screens.queue import QueueScreen
from tui.widgets import GpuCard, QueueTable


@pytest.fixture
def api(gpu_api: TrainyardClient) -> TrainyardClient:
    return gpu_api


async def _stop_all(api: TrainyardClient, project: str, run_ids: list[str]) -> None:
    for run_id in run_ids:
        run = await api.get_run(project, run_id)
        if run.status in ("pending", "running"):
            await api.cancel(project, run_id, grace_seconds=0)


async def test_queue_view_follows_the_queue_live(gpu_server: Server,
                                                 api: TrainyardClient) -> None:
    await api.create_project(project_body("queue-live", gpus=4))
    app = live_app(gpu_server)
    started: list[str] = []
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for_text(pilot, "Queue")  # the key is in the footer
            await pilot.press("u")
            assert isinstance(app.screen, QueueScreen)
            await wait_for_text(pilot, "No run is waiting for GPUs")
            assert "8 GPUs: 0 held by runs, 1 used outside Trainyard" in screen_text(pilot)

            # 4 of the 7 usable GPUs go to the first run; the second waits for 4.
            holder = await api.start_run("queue-live", RunCreate("sleep 60", output_dir="o/1"))
            waiting = await api.start_run("queue-live", RunCreate("sleep 60", output_dir="o/2"))
            started += [holder.id, waiting.id]
            await wait_for_text(pilot, waiting.id)
            await wait_for_text(pilot, "1 run waiting for GPUs")
            await wait_for_text(pilot, f"held by {holder.id}")  # its reason, below the table
            text = " ".join(screen_text(pilot).split())
            assert "pid 4242" in text and "outside Trainyard" in text  # the foreign process

            # A later run with a higher priority goes ahead of it, on screen at once.
            urgent = await api.start_run("queue-live", RunCreate(
                "sleep 60", output_dir="o/3", priority=5))
            started.append(urgent.id)
            table = app.screen.query_one(QueueTable)
            await wait_for(pilot, lambda: table.row_count == 2, what="two runs waiting")
            rows = [table.get_row_at(i) for i in range(2)]
            assert [str(r[1]) for r in rows] == [urgent.id, waiting.id]
            assert [str(r[3]) for r in rows] == ["+5", "0"]
            assert [str(r[4]) for r in rows] == ["4", "4"]

            # The holder ends: the urgent run starts and leaves the queue.
            await api.cancel("queue-live", holder.id, grace_seconds=0)
            await wait_for(pilot, lambda: table.row_count == 1, what="the urgent run started")
            assert str(table.get_row_at(0)[1]) == waiting.id
            assert str(table.get_row_at(0)[0]) == "1"
    finally:
        await _stop_all(api, "queue-live", started)


async def test_a_waiting_runs_header_says_why_until_it_starts(gpu_server: Server,
                                                             api: TrainyardClient) -> None:
    await api.create_project(project_body("queue-header", gpus=4))
    holder = await api.start_run("queue-header", RunCreate("sleep 60", output_dir="o/1"))
    waiting = await api.start_run("queue-header", RunCreate("sleep 60", output_dir="o/2",
                                                            priority=3))
    started = [holder.id, waiting.id]
    app = live_app(gpu_server)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("u")
            await wait_for_text(pilot, waiting.id)
            await pilot.press("enter")  # opens the selected (first) waiting run
            await wait_for_text(pilot, "#1 in the GPU queue")
            header = " ".join(screen_text(pilot).split())
            assert "asks 4 GPUs, priority 3" in header
            assert f"held by {holder.id}" in header and "pid 4242" in header

            # Its place follows the queue: a more urgent run goes ahead, then leaves.
            urgent = await api.start_run("queue-header", RunCreate(
                "sleep 60", output_dir="o/3", priority=10))
            started.append(urgent.id)
            await wait_for_text(pilot, "#2 in the GPU queue")
            await api.cancel("queue-header", urgent.id, grace_seconds=0)
            await wait_for_text(pilot, "#1 in the GPU queue")

            await api.cancel("queue-header", holder.id, grace_seconds=0)
            await wait_for_text(pilot, "▶ running")
            assert "in the GPU queue" not in screen_text(pilot)
            await pilot.press("4")
            given = (await api.get_run("queue-header", waiting.id)).gpu_ids
            assert given
            await wait_for_text(pilot, f"4 asked, priority 3; given {', '.join(map(str, given))}")
    finally:
        await _stop_all(api, "queue-header", started)


async def test_gpu_view_says_which_run_holds_each_gpu(gpu_server: Server,
                                                      api: TrainyardClient) -> None:
    await api.create_project(project_body("queue-gpus", gpus=4))
    app = live_app(gpu_server)
    started: list[str] = []
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("g")
            assert isinstance(app.screen, GpusScreen)
            await wait_for_text(pilot, "0 given to runs · 1 used outside Trainyard")

            def lines() -> dict[int, str]:  # each card's last line: who uses the GPU
                return {card.device.index: card.render().plain.splitlines()[-1].strip()
                        for card in app.screen.query(GpuCard)}

            assert lines()[6].startswith("outside Trainyard: pid 4242")
            assert lines()[0] == "free · no processes"

            holder = await api.start_run("queue-gpus", RunCreate("sleep 60", output_dir="o/1"))
            started.append(holder.id)
            await wait_for_text(pilot, "4 given to runs")
            given = (await api.get_run("queue-gpus", holder.id)).gpu_ids or []
            assert len(given) == 4 and 6 not in given
            shown = lines()
            assert all(shown[i].startswith(f"given to {holder.id}") for i in given)
            assert all(shown[i] == "free · no processes" for i in set(range(8)) - set(given)
                       - {6})
    finally:
        await _stop_all(api, "queue-gpus", started)


async def test_gpu_view_frees_the_gpus_of_a_run_that_ended(gpu_server: Server,
                                                           api: TrainyardClient) -> None:
    await api.create_project(project_body("queue-free", gpus=4))
    app = live_app(gpu_server)
    holder = await api.start_run("queue-free", RunCreate("sleep 60", output_dir="o/1"))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("g")
            await wait_for_text(pilot, "4 given to runs")
            await api.cancel("queue-free", holder.id, grace_seconds=0)
            await wait_for_text(pilot, "0 given to runs", timeout=5)
    finally:
        await _stop_all(api, "queue-free", [holder.id])
