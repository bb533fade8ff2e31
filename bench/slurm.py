"""Rows: the slurm executor on the private one-node cluster (``scripts/slurm-cluster.sh``).

Submission -> running: from the moment ``POST .../runs`` is sent to the first ``GET``
(polled every 20 ms) that shows the run ``running``, over :data:`RUNS` runs one at a time;
beside it, the same for bare Slurm: ``sbatch`` sent to the batch script's first write to a
file (polled every 20 ms). Cancel -> ended: ``POST .../cancel`` sent to its answer, which
comes once the run has ended (the command, ``sleep``, dies on SIGTERM); beside it, a bare
``scancel`` to ``squeue`` no longer listing the job as running. Skipped, saying why, when
no cluster answers.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path

from common.client import TrainyardClient
from common.models import ProjectCreate, RunCreate

from .servers import DATASET, TRAINING_YAML, Workspace, start_trainyard
from .stats import percentile
from .table import Row

__all__ = ["measure"]

SLURM_CONF = "/var/lib/trainyard-slurm/slurm.conf"
RUNS = 10
TARGET_START_S = 2.0  # Slurm's own scheduling is most of it
TARGET_CANCEL_S = 2.0
ENV = {**os.environ, "SLURM_CONF": SLURM_CONF}



def _slurm(*argv: str) -> str:
    return subprocess.run(argv, env=ENV, capture_output=True, text=True, check=True,
                          timeout=30).stdout


async def _bare(root: Path) -> tuple[list[float], list[float]]:
    script = root / "bare.sh"
    script.write_text("#!/bin/bash\necho up > \"$1\"\nexec sleep 300\n")
    starts, cancels = [], []
    for i in range(RUNS):
        marker = root / f"bare-{i}"
        began = time.perf_counter()
        job = _slurm("sbatch", "--parsable", "--output=/dev/null", str(script),
                     str(marker)).strip()
        while not marker.exists():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        starts.append(time.perf_counter() - began)
        began = time.perf_counter()
        _slurm("scancel", job)
        while _slurm("squeue", "-h", "-j", job, "-t", "R,CG", "-o", "%i").strip():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        cancels.append(time.perf_counter() - began)
    return starts, cancels


async def _trainyard(client: TrainyardClient) -> tuple[list[float], list[float]]:
    await client.create_project(ProjectCreate(
        name="slurm", objective="bench", task_type="sft", owner="bench",
        dataset_name=DATASET, training_yaml_name=TRAINING_YAML))
    starts, cancels = [], []
    for i in range(RUNS):
        began = time.perf_counter()
        run = await client.start_run("slurm", RunCreate("sleep 300", output_dir=f"o/{i}"))
        while (await client.get_run("slurm", run.id)).status != "running":  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        starts.append(time.perf_counter() - began)
        began = time.perf_counter()
        ended = await client.cancel("slurm", run.id, grace_seconds=10)
        cancels.append(time.perf_counter() - began)
        assert ended.status == "canceled", ended.status_message
    return starts, cancels


def _row(what: str, ours: list[float], bare: list[float], target: float) -> Row:
    return Row(f"Slurm: {what} (p50 / p90 of {RUNS}, one at a time)",
               f"{percentile(ours, 0.5):.2f} / {percentile(ours, 0.9):.2f} s",
               f"bare Slurm {percentile(bare, 0.5):.2f} / {percentile(bare, 0.9):.2f} s",
               f"{percentile(ours, 0.5) / max(percentile(bare, 0.5), 1e-3):.1f}x",
               f"p90 < {target:g} s", percentile(ours, 0.9) < target)


def _cluster_answers() -> bool:
    return Path(SLURM_CONF).exists() and subprocess.run(
        ["sinfo", "-h"], env=ENV, capture_output=True, timeout=15).returncode == 0


async def measure(ws: Workspace, token: str) -> list[Row]:
    if not await asyncio.to_thread(_cluster_answers):
        return [Row("Slurm: submission -> running, cancel -> ended",
                    "skipped: no cluster (scripts/slurm-cluster.sh up)")]
    slurm_ws = Workspace(ws.root / "slurm").create()
    with tempfile.TemporaryDirectory(dir=ws.root) as scratch:
        bare_starts, bare_cancels = await _bare(Path(scratch))
    server = start_trainyard(slurm_ws, token, {"TRAINYARD_EXECUTOR": "slurm",
                                               "SLURM_CONF": SLURM_CONF})
    try:
        async with TrainyardClient(server.url, token, timeout=60) as client:
            starts, cancels = await _trainyard(client)
    finally:
        server.stop()
    return [_row("submission -> running", starts, bare_starts, TARGET_START_S),
            _row("cancel -> ended", cancels, bare_cancels, TARGET_CANCEL_S)]


if __name__ == "__main__":
    from .standalone import run, with_workspace

    run(with_workspace(measure))
