"""Rows: the GPU queue with 1,000 runs waiting. How long from one run's exit to the next
queued run started (its command running), over 50 handovers, at the default poll
interval; and ``GET /queue`` req/s beside ``GET /projects`` on the same server.

A server of its own replays an 8-GPU server (real H100 readings, ``tests/gpu_replay.py``);
every run asks for all 8 GPUs, so runs start one at a time. The first 51 in line sleep
0.2 s, the 949 behind them sleep long and keep the queue at ~1,000 throughout. The exit
time is the mtime of the run's ``exit_code`` file, written by the wrapper the moment the
command ends; the start is the next run's ``started_at``.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

from common.client import TrainyardClient
from common.models import ProjectCreate, RunCreate
from tests.gpu_replay import eight_gpus

from .http_load import run_wrk
from .servers import DATASET, TRAINING_YAML, Workspace, kill_runs, start_trainyard
from .stats import percentile
from .table import Row

__all__ = ["measure"]

QUEUED = 1_000
HANDOVERS = 50
TARGET_P99_MS = 500.0
WRK_SECONDS = 5



async def measure(ws: Workspace, token: str) -> list[Row]:
    queue_ws = Workspace(ws.root / "gpu-queue").create()
    replay = eight_gpus(queue_ws.root / "8-gpus.jsonl")
    server = start_trainyard(queue_ws, token, {"TRAINYARD_GPU_SOURCE": f"replay:{replay}"})
    try:
        async with TrainyardClient(server.url, token, timeout=60) as client:
            while len((await client.gpus()).gpus) < 8:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            await client.create_project(ProjectCreate(
                name="queue", objective="bench", task_type="sft", owner="bench",
                dataset_name=DATASET, training_yaml_name=TRAINING_YAML, gpus=8))
            ids = []
            for i in range(QUEUED):
                command = "sleep 0.2" if i <= HANDOVERS else "sleep 3600"
                run = await client.start_run("queue", RunCreate(command, output_dir=f"o/{i}"))
                ids.append(run.id)
            gaps = await _handovers(client, queue_ws, ids)
            queue_wrk = await run_wrk(server.url + "/queue", token, WRK_SECONDS)
            projects_wrk = await run_wrk(server.url + "/projects", token, WRK_SECONDS)
            waiting = len((await client.http.get("/queue")).json()["runs"])
    finally:
        server.stop()
        kill_runs(queue_ws)  # the queue started the first 'sleep 3600' run: end it
    p50, p99 = percentile(gaps, 0.5), percentile(gaps, 0.99)
    return [
        Row(f"GPU queue, {QUEUED:,} runs waiting: a run's exit -> the next queued run "
            f"started, p50 / p99 over {len(gaps)} handovers (poll interval 0.2 s)",
            f"{p50:.0f} / {p99:.0f} ms", target=f"p99 < {TARGET_P99_MS:.0f} ms",
            met=p99 < TARGET_P99_MS),
        Row(f"`GET /queue` ({waiting:,} waiting runs), wrk {WRK_SECONDS} s: req/s, p99",
            f"{queue_wrk.rps:,.0f} req/s, p99 {queue_wrk.p99_ms:.1f} ms",
            f"`GET /projects` on that server: {projects_wrk.rps:,.0f} req/s, "
            f"p99 {projects_wrk.p99_ms:.1f} ms",
            f"{queue_wrk.rps / projects_wrk.rps:.0%}"),
    ]


async def _handovers(client: TrainyardClient, ws: Workspace, ids: list[str]) -> list[float]:
    gaps: list[float] = []
    for before, after in itertools.pairwise(ids[:HANDOVERS + 1]):
        while (run := await client.get_run("queue", after)).started_at is None:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        exit_file = ws.data_dir / "runs" / before / "exit_code"
        exited = datetime.fromtimestamp(exit_file.stat().st_mtime, UTC)
        gaps.append((run.started_at - exited).total_seconds() * 1000)
    return gaps


if __name__ == "__main__":
    from .standalone import run, with_workspace

    run(with_workspace(measure))
