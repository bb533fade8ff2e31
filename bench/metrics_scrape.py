"""Row: what a Prometheus scrape of ``GET /metrics`` costs with 50 live runs and 8 GPUs.

A server of its own replays the recorded H100 readings (``tests/fixtures/nvml-h100``) as
eight GPUs, and runs 50 live runs that each reported a loss and a tqdm position, then
sleep. The figure is the time of one ``GET /metrics`` as a scraper sees it, sequential
requests on one connection, beside ``GET /healthz`` on the same server (the HTTP floor).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path

import httpx

from common.client import TrainyardClient
from common.models import ProjectCreate, RunCreate

from . import interrupt
from .servers import (
    DATASET,
    REPO,
    TRAINING_YAML,
    Process,
    Workspace,
    own_output_dir,
    start_trainyard,
)
from .table import Row

__all__ = ["measure"]

LIVE, GPUS, SCRAPES, WARMUP = 50, 8, 200, 20
TARGET_MS = 5.0
FIXTURE = REPO / "tests" / "fixtures" / "nvml-h100" / "nvml_samples.jsonl"
COMMAND = ("echo \"{'loss': 1.5, 'grad_norm': 0.2, 'learning_rate': 1e-05, 'epoch': 0.1}\"; "
           "echo ' 10%|#         | 10/100 [00:10<01:30,  1.00it/s]'; sleep 600")


def _widen(path: Path) -> Path:
    """The recorded readings of one H100, as if the host had :data:`GPUS` of them."""
    lines = []
    for line in FIXTURE.read_text().splitlines():
        record = json.loads(line)
        if record["kind"] != "sample":
            lines.append(line)
            continue
        for index in range(GPUS):
            record["index"] = index
            record["reading"]["uuid"] = record["reading"]["uuid"][:-2] + f"{index:02d}"
            lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")
    return path


async def _times(http: httpx.AsyncClient, path: str) -> list[float]:
    for _ in range(WARMUP):
        (await http.get(path)).raise_for_status()
    took = []
    for _ in range(SCRAPES):
        began = time.perf_counter()
        (await http.get(path)).raise_for_status()
        took.append((time.perf_counter() - began) * 1000)
    return took


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def _scrape(server: Process, token: str) -> tuple[list[float], list[float], str]:
    async with httpx.AsyncClient(base_url=server.url,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        body = (await http.get("/metrics")).text
        return await _times(http, "/metrics"), await _times(http, "/healthz"), body


async def measure(ws: Workspace, token: str) -> Row:
    scrape_ws = Workspace(ws.root / "metrics-scrape").create()
    fixture = _widen(scrape_ws.root / "eight-h100.jsonl")
    server = start_trainyard(scrape_ws, token, {"TRAINYARD_GPU_SOURCE": f"replay:{fixture}"})
    ids: list[str] = []
    try:
        async with TrainyardClient(server.url, token) as client:
            project = await client.create_project(ProjectCreate(
                name="scrape", objective="o", task_type="sft", owner="bench",
                dataset_name=DATASET, training_yaml_name=TRAINING_YAML))
            for _ in range(LIVE):
                interrupt.check()
                ids.append((await client.start_run(project.id, RunCreate(
                    COMMAND, output_dir=own_output_dir()))).id)
            await asyncio.sleep(3.0)  # the runs' lines read, the sampler through a few samples
            scrapes, health, body = await _scrape(server, token)
            if body.count("trainyard_run_loss{") != LIVE or \
                    body.count("trainyard_gpu_power_watts{") != GPUS:
                raise RuntimeError("the scrape did not show every live run and GPU")
            await asyncio.gather(*(client.stop_run(run_id, grace_seconds=1) for run_id in ids),
                                 return_exceptions=True)
    finally:
        server.stop()
    median = statistics.median(scrapes)
    floor = statistics.median(health)
    return Row(f"GET /metrics with {LIVE} live runs and {GPUS} GPUs (replayed H100), "
               f"median of {SCRAPES} sequential scrapes",
               f"{median:.2f} ms (p95 {_p95(scrapes):.2f} ms, {len(body):,} bytes)",
               f"{floor:.2f} ms (GET /healthz, same server)", f"{median / floor:.1f}x",
               f"< {TARGET_MS:g} ms", median < TARGET_MS)


if __name__ == "__main__":
    from .standalone import run, with_workspace

    run(with_workspace(measure))
