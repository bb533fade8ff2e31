"""Rows: webhook delivery latency from a run's end to the notice arriving, p50 / p99, with
a dead endpoint (closed port) and a hung one (accepts, never answers: every attempt
waits out the 10 s timeout) configured beside the live one; and the same with the live
endpoint alone, for reference.

The run's end is the mtime of its ``exit_code`` file, written by the wrapper the moment
the command ends; the arrival is the receiver's clock on the same machine. Runs are
``true`` on the local executor, launched a few at a time.
"""

from __future__ import annotations

import asyncio
import json
import socket

from common.client import TrainyardClient
from common.models import ProjectCreate, RunCreate
from tests.conftest import free_port
from tests.server.receiver import Receiver

from .servers import DATASET, TRAINING_YAML, Workspace, start_trainyard
from .stats import percentile
from .table import Row

__all__ = ["measure"]

RUNS = 60
AT_ONCE = 6
TARGET_P99_MS = 1000.0



async def _latencies(ws: Workspace, token: str, name: str, broken: bool) -> list[float]:
    own = Workspace(ws.root / name).create()
    server = start_trainyard(own, token)
    live = Receiver().start()
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(1000)  # accepts (the kernel does), never answers
    try:
        async with TrainyardClient(server.url, token, timeout=60) as client:
            await client.create_project(ProjectCreate(
                name="hooks", objective="bench", task_type="sft", owner="bench",
                dataset_name=DATASET, training_yaml_name=TRAINING_YAML))
            urls = [live.url]
            if broken:
                urls += [f"http://127.0.0.1:{free_port()}/dead",
                         f"http://127.0.0.1:{hung.getsockname()[1]}/hung"]
            for url in urls:
                (await client.http.post("/webhooks", json={
                    "url": url, "events": ["run.completed"]})).raise_for_status()
            ids: list[str] = []
            for start in range(0, RUNS, AT_ONCE):
                batch = [await client.start_run("hooks", RunCreate("true", output_dir=f"o/{i}"))
                         for i in range(start, min(RUNS, start + AT_ONCE))]
                ids += [run.id for run in batch]
                await asyncio.to_thread(live.wait, len(ids), 60.0)
        arrived = {json.loads(r.body)["run"]["id"]: r.at for r in live.received}
        latencies = []
        for run_id in ids:
            ended = (own.data_dir / "runs" / run_id / "exit_code").stat().st_mtime
            latencies.append((arrived[run_id] - ended) * 1000)
        return latencies
    finally:
        server.stop()
        live.stop()
        hung.close()


async def measure(ws: Workspace, token: str) -> list[Row]:
    with_broken = await _latencies(ws, token, "hooks-broken", broken=True)
    alone = await _latencies(ws, token, "hooks-alone", broken=False)
    p50, p99 = percentile(with_broken, 0.5), percentile(with_broken, 0.99)
    ref50, ref99 = percentile(alone, 0.5), percentile(alone, 0.99)
    return [Row(
        f"webhook: a run's end -> its `run.completed` notice at a live endpoint, with a dead "
        f"and a hung endpoint beside it, p50 / p99 over {len(with_broken)} runs "
        f"(poll interval 0.2 s)",
        f"{p50:.0f} / {p99:.0f} ms", f"live endpoint alone: {ref50:.0f} / {ref99:.0f} ms",
        f"{p99 / ref99:.2f}x" if ref99 else "—", target=f"p99 < {TARGET_P99_MS:.0f} ms",
        met=p99 < TARGET_P99_MS)]


if __name__ == "__main__":
    from .standalone import run, with_workspace

    run(with_workspace(measure))
