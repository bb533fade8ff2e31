"""Row 3: what the server costs while nothing happens but runs being alive.

The server's CPU share (utime+stime from ``/proc/<pid>/stat`` over 10 s) and RSS with 0
live runs, with 20 live runs (``sleep 600``), and with 20 live runs after a million log
lines are stored. The reference for "20 live + history" is "20 live, no history" on the
same server process: following a run should cost the same whatever is already stored, so
the two should match, while 20 live runs should cost more than none.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from common.client import TrainyardClient
from common.models import RunCreate

from . import interrupt
from .machine import CpuMeter, rss_mib
from .servers import Process, own_output_dir
from .table import Row

__all__ = ["IdleFigure", "idle_rows", "measure_idle", "with_live_runs"]

SECONDS = 10.0
LIVE = 20
SETTLE = 2.0
SAME_FACTOR, SAME_SLACK = 1.25, 0.5  # "≈": at most 25% + 0.5 points above


@dataclass(frozen=True)
class IdleFigure:
    cpu_percent: float
    rss_mib: float


async def measure_idle(server: Process, seconds: float = SECONDS) -> IdleFigure:
    meter = CpuMeter(server.pid).start()
    await asyncio.sleep(seconds)
    figure = IdleFigure(meter.percent(), rss_mib(server.pid))
    if server.popen.poll() is not None:
        raise RuntimeError(f"the server exited (code {server.popen.returncode}) while measured")
    return figure


async def _launch(client: TrainyardClient, project: str, ids: list[str]) -> None:
    for _ in range(LIVE):
        interrupt.check()
        run = await client.start_run(project, RunCreate(start_command="sleep 600",
                                                        output_dir=own_output_dir()))
        ids.append(run.id)


async def _cancel(client: TrainyardClient, project: str, ids: list[str]) -> None:
    results = await asyncio.gather(
        *(client.cancel(project, run_id, grace_seconds=1) for run_id in ids),
        return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(ids)} cancels failed: {failed[0]}")


async def with_live_runs(server: Process, client: TrainyardClient,
                         project: str) -> IdleFigure:
    """Start :data:`LIVE` sleeping runs, measure, cancel them all (even on error)."""
    ids: list[str] = []
    try:
        await _launch(client, project, ids)
        await asyncio.sleep(SETTLE)  # let the launches' own work finish
        return await measure_idle(server)
    finally:
        if ids:
            try:
                await _cancel(client, project, ids)
            except Exception as exc:  # the bench's final clean-up kills what is left
                print(f"bench: cancelling the sleeping runs failed: {exc}", file=sys.stderr)


def idle_rows(none: IdleFigure, live: IdleFigure, history: IdleFigure | None,
              history_lines: int) -> list[Row]:
    rows = [
        Row(f"idle CPU, 0 live runs (% of one core over {SECONDS:g} s)",
            f"{none.cpu_percent:.2f}%"),
        Row(f"idle CPU, {LIVE} live runs", f"{live.cpu_percent:.2f}%",
            f"{none.cpu_percent:.2f}% (0 live runs)",
            f"+{(live.cpu_percent - none.cpu_percent) / LIVE:.3f} pt/run",
            "grows with live runs", live.cpu_percent > none.cpu_percent),
    ]
    rss = f"{none.rss_mib:.0f} / {live.rss_mib:.0f}"
    if history is not None:
        limit = live.cpu_percent * SAME_FACTOR + SAME_SLACK
        rows.append(Row(
            f"idle CPU, {LIVE} live runs + {history_lines:,} stored log lines",
            f"{history.cpu_percent:.2f}%", f"{live.cpu_percent:.2f}% ({LIVE} live, no history)",
            f"{history.cpu_percent / live.cpu_percent:.2f}×" if live.cpu_percent else "—",
            f"≈ no-history figure (≤ {SAME_FACTOR:g}× + {SAME_SLACK:g} pt)",
            history.cpu_percent <= limit))
        rss += f" / {history.rss_mib:.0f}"
    label = "0 live / 20 live" + (" / 20 live + history" if history is not None else "")
    rows.append(Row(f"server RSS, MiB ({label})", rss))
    return rows
