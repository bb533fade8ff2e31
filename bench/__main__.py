"""``python -m bench``: run every benchmark against one trainyard server, print the table.

Order (one server process throughout, so the idle figures compare like with like):
``GET /projects`` load, idle with 0 then 20 live runs, the 1M-line ingest, then idle with
20 live runs again on top of that history, the GPU sampler (a second server that replays
H100 readings, beside the first one's idle figure), a /metrics scrape (a third server,
8 replayed GPUs and 50 live runs), and last the SSE fan-out (its rows are shown
after the ingest's; it runs last so that its runs and connections cannot touch the idle
figures, and the ingest backlog its 1-subscriber case leaves is never waited for), then
the TUI beside a busy run, the stream clients that never read (bench.slow_clients), and a
stop with 100 stream clients (on a server of its own).
Progress goes to stderr; stdout gets the header and the table only. Every process
started is stopped in ``finally`` blocks.
Exit status 1 means a benchmark could not run (its row says why), not a missed target.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sys
import time
import traceback
from collections.abc import Awaitable
from typing import TypeVar

from common.client import TrainyardClient

from . import (
    gpu_queue,
    gpu_sampler,
    http_load,
    idle,
    ingest,
    interrupt,
    metrics_scrape,
    shutdown,
    slow_clients,
    slurm,
    sse_fanout,
    tui_responsiveness,
    webhooks,
)
from .machine import header_lines, load_average, machine_busy
from .servers import Process, Workspace, kill_runs, start_trainyard
from .standalone import temp_workspace
from .table import Row, render

T = TypeVar("T")


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def _attempt(label: str, rows: list[Row], work: Awaitable[T]) -> T | None:
    """Run one benchmark; on failure add an error row and carry on with the next."""
    interrupt.check()
    progress(label)
    try:
        return await work
    except Exception as exc:
        interrupt.check()  # an interruption surfacing as some library's error
        traceback.print_exc(file=sys.stderr)
        rows.append(Row.failed(label, exc))
        return None


async def _all(ws: Workspace, server: Process, token: str) -> list[Row]:
    rows: list[Row] = []
    async with TrainyardClient(server.url, token) as client:
        project = await http_load.seed_projects(client)
        found = await _attempt("GET /projects under wrk", rows,
                               http_load.measure(ws, server, client, token))
        rows += found or []
        await asyncio.sleep(1.0)
        none = await _attempt("idle, 0 live runs", rows, idle.measure_idle(server))
        live = await _attempt(f"idle, {idle.LIVE} live runs", rows,
                              idle.with_live_runs(server, client, project))
        found = await _attempt(f"ingest of {ingest.LINES:,} lines", rows,
                               ingest.measure(ws, server, client, project))
        rows += found or []
        after_ingest = len(rows)
        history = await _attempt(f"idle, {idle.LIVE} live runs + history", rows,
                                 idle.with_live_runs(server, client, project))
        if none is not None and live is not None:
            stored = ingest.LINES if found else 0
            rows += idle.idle_rows(none, live, history, stored)
        if none is not None:
            found_gpu = await _attempt("GPU sampler, replaying H100 readings", rows,
                                       gpu_sampler.measure(ws, token, none))
            if found_gpu is not None:
                rows.append(found_gpu)
        found = await _attempt("GPU queue with 1,000 waiting runs", rows,
                               gpu_queue.measure(ws, token))
        rows += found or []
        scraped = await _attempt("GET /metrics with 50 live runs and 8 GPUs", rows,
                                 metrics_scrape.measure(ws, token))
        if scraped is not None:
            rows.append(scraped)
        found = await _attempt("Slurm: submission and cancel", rows, slurm.measure(ws, token))
        found = await _attempt("webhook latency beside a dead and a hung endpoint", rows,
                               webhooks.measure(ws, token))
        rows += found or []
        sse: list[Row] = []
        fanout = await _attempt("SSE fan-out to 1,000, 100 and 1 subscribers", sse,
                                sse_fanout.measure(ws, server, client, project, token))
        rows[after_ingest:after_ingest] = sse + (fanout or [])
        tui = await _attempt("TUI run view beside a run printing 5,000 lines/s", rows,
                             tui_responsiveness.measure(server, client, token, project))
        rows += tui or []
        stop = await _attempt("stop with 100 event-stream clients", rows,
                              shutdown.measure(ws, token))
        if stop is not None:
            rows.append(stop)
        slow = await _attempt(f"{slow_clients.STALLED} stream clients that never read", rows,
                              slow_clients.measure(ws, server, client, project, token))
        rows += slow or []
    return rows


async def main() -> int:
    task = asyncio.current_task()
    assert task is not None
    interrupt.install(task)  # Ctrl-C and SIGTERM unwind through the finally blocks below
    busy_before = machine_busy(1.0)
    started = time.perf_counter()
    ws = temp_workspace()
    token = "bench-" + secrets.token_hex(16)
    server: Process | None = None
    try:
        progress(f"starting trainyard (data in {ws.data_dir})")
        server = start_trainyard(ws, token)
        rows = await _all(ws, server, token)
    finally:
        if server is not None:
            server.stop()
        kill_runs(ws)
        shutil.rmtree(ws.root, ignore_errors=True)
    progress(f"done in {time.perf_counter() - started:.0f} s")
    print("\n".join(header_lines()))
    print("server: trainyard serve, local executor, default poll interval 0.2 s; "
          "all figures from this one invocation")
    print(f"other load: CPUs {busy_before:.0f}% busy in the second before the bench started; "
          f"load average at the end {load_average()}")
    print()
    print(render(rows))
    # A missed target is a finding, shown in the table; only a benchmark that could not run
    # makes the exit status non-zero.
    return 1 if any(row.trainyard.startswith("error:") for row in rows) else 0


def run() -> int:
    try:
        return asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError, interrupt.Interrupted):
        progress("interrupted; every process it started has been stopped")
        return 130


if __name__ == "__main__":
    raise SystemExit(run())
