"""``python -m bench.profile_tui``: where the TUI's time goes beside a busy run.

Starts a server of its own, a run printing 5,000 lines/s, and drives the run view as the
bench row does (bench/tui_responsiveness.py), under cProfile; prints the key figures and
the costliest calls (cumulative, then own time). Findings so far are in the commit that
added KeysFooter (tui/widgets/keys_footer.py).
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import secrets
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from common.client import TrainyardClient
from common.models import ProjectCreate, RunCreate

from . import tui_responsiveness as row
from .servers import DATASET, TRAINING_YAML, Workspace, kill_runs, own_output_dir, start_trainyard
from .stats import percentile

TOP = 30


async def main() -> None:
    ws = Workspace(Path(tempfile.mkdtemp(prefix="trainyard-profile-"))).create()
    token = "profile-" + secrets.token_hex(16)
    server = start_trainyard(ws, token)
    try:
        async with TrainyardClient(server.url, token) as client:
            await client.create_project(ProjectCreate(
                name="profile", objective="o", task_type="t", owner="bench",
                dataset_name=DATASET, training_yaml_name=TRAINING_YAML))
            run = await client.start_run("profile", RunCreate(
                row.FIREHOSE, output_dir=own_output_dir()))
            await asyncio.sleep(1.0)
            profile = cProfile.Profile()
            profile.enable()
            keys, lag = await row._drive(server, token, "profile", run.id)
            profile.disable()
            await client.cancel("profile", run.id, grace_seconds=1)
    finally:
        server.stop()
        kill_runs(ws)
        shutil.rmtree(ws.root, ignore_errors=True)
    print(f"key response p50 / p99: {statistics.median(keys):.0f} / {percentile(keys, 0.99):.0f} "
          f"ms; event-loop lag p99: {percentile(lag, 0.99):.0f} ms (under the profiler)")
    stats = pstats.Stats(profile, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(TOP)
    stats.sort_stats("tottime").print_stats(TOP)


if __name__ == "__main__":
    asyncio.run(main())
