"""Row: what the GPU sampler costs at a 1 s interval, as a share of one core.

This machine has no GPU, so a second trainyard server replays the readings recorded on a
real H100 (``tests/fixtures/nvml-h100``: idle, a training process tree, after) through
the sampler's whole path: attribution to runs through the process tree, the ``/gpus``
snapshot, the ``gpus`` stream. Its CPU over :data:`SECONDS` while otherwise idle is set
beside the main server's "0 live runs" figure, taken the same way with no GPU source
(NVML absent). What replay leaves out is NVML's own calls: the fixture's README gives
their cost (~0.01-0.15 ms each for the reads the sampler makes), and
``docs/gpu-check-h100.json`` the whole sampler on a real H100 (0.13% of a core).
``/proc`` counts CPU in 10 ms ticks, so over 10 s each figure is good to ~0.1 point.
"""

from __future__ import annotations

import asyncio

from common.client import TrainyardClient

from .idle import SECONDS, SETTLE, IdleFigure, measure_idle
from .servers import REPO, Workspace, start_trainyard
from .table import Row

__all__ = ["measure"]

INTERVAL = 1.0
TARGET_POINTS = 1.0  # % of one core above the same server without a sampler
FIXTURE = REPO / "tests" / "fixtures" / "nvml-h100" / "nvml_samples.jsonl"


async def measure(ws: Workspace, token: str, off: IdleFigure) -> Row:
    """Start a replaying server in a folder of its own, measure it idle, stop it."""
    gpu_ws = Workspace(ws.root / "gpu-sampler").create()
    server = start_trainyard(gpu_ws, token, {
        "TRAINYARD_GPU_SOURCE": f"replay:{FIXTURE}",
        "TRAINYARD_GPU_INTERVAL": f"{INTERVAL:g}"})
    try:
        await asyncio.sleep(SETTLE)
        on = await measure_idle(server)
        async with TrainyardClient(server.url, token) as client:
            snapshot = await client.gpus()
        if not snapshot.available:
            raise RuntimeError(f"the sampler did not run: {snapshot.reason}")
    finally:
        server.stop()
    extra = round(on.cpu_percent - off.cpu_percent, 2) + 0.0  # no "-0.00"
    return Row(f"GPU sampler at a {INTERVAL:g} s interval, replaying real H100 readings: "
               f"server CPU idle ({SECONDS:g} s, % of one core)",
               f"{on.cpu_percent:.2f}% ({len(snapshot.gpus)} GPU; NVML's own calls are "
               "not replayed: 0.13% of a core for the whole sampler on a real H100, "
               "docs/gpu-check-h100.json)",
               f"{off.cpu_percent:.2f}% (the main server: no GPU source)", f"{extra:+.2f} pt",
               f"< {TARGET_POINTS:g} pt", extra < TARGET_POINTS)
