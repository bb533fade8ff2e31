"""Row: 200 stream clients that never read, on a run with 150k stored lines that prints
5,000 lines/s (issue 17: they once took the server to 6.2 GB and ``GET /projects`` to 22 s).

One run (local executor) writes :data:`HISTORY` lines at once, then :data:`RATE` lines/s,
each line stamped with the time it was written (the fan-out bench's producer). A normal
client (:mod:`bench.sse_client`, one connection) follows the run's events and measures
per-line latency; a sampler times ``GET /projects`` every 20 ms. Two windows of
:data:`WINDOW` s, same run, same clients: the baseline, then with :data:`STALLED`
connections that sent ``GET .../events`` and read nothing since (they stay connected
through the window: the server cuts such clients off only after
``TRAINYARD_CLIENT_STALL_SECONDS``, 60 s). Targets: the server's RSS (the highest seen
while the stalled clients are connected) under 300 MiB, ``GET /projects`` p99 under
100 ms, the normal client's p99 within 1.5x its baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass

import httpx

from common.client import TrainyardClient
from common.models import RunCreate

from . import interrupt
from .machine import rss_mib
from .servers import Process, Workspace, own_output_dir
from .sse_fanout import ClientGroup, Received
from .table import Row

__all__ = ["measure"]

HISTORY, RATE, STALLED = 150_000, 5000, 200
WINDOW, WARMUP = 15.0, 3.0
RSS_TARGET_MIB, PROJECTS_P99_MS, RATIO = 300.0, 100.0, 1.5
# 150k stamped lines at once, then RATE lines/s, written at most every 2 ms, for long
# enough to outlast both windows.
_PRINTER = f"""\
import sys, time
out = sys.stdout.buffer
pad = "x" * 119
for _ in range({HISTORY} // 1000):
    out.write(((f"{{time.time():.6f}} " + pad)[:119] + "\\n").encode() * 1000)
out.flush()
start = time.time()
written = 0
while time.time() < start + 120:
    due = min(int({RATE} * (time.time() - start)) - written, 50000)
    if due <= 0:
        time.sleep(0.002)
        continue
    out.write(((f"{{time.time():.6f}} " + pad)[:119] + "\\n").encode() * due)
    out.flush()
    written += due
"""


@dataclass
class Window:
    client: Received
    projects_ms: list[float]
    rss_mib: float

    @property
    def projects_p99(self) -> float:
        ordered = sorted(self.projects_ms)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def _sample_projects(url: str, token: str, until: float, out: list[float]) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=30) as http:
        while time.time() < until:
            start = time.perf_counter()
            (await http.get("/projects")).raise_for_status()
            out.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(0.02)


async def _window(server: Process, group: ClientGroup, token: str) -> Window:
    t0 = time.time() + WARMUP
    t1 = t0 + WINDOW
    await group.window(t0, t1)
    projects: list[float] = []
    rss = rss_mib(server.pid)
    await asyncio.sleep(max(0.0, t0 - time.time()))
    sampler = asyncio.create_task(_sample_projects(server.url, token, t1, projects))
    while time.time() < t1:
        interrupt.check()
        rss = max(rss, rss_mib(server.pid))
        await asyncio.sleep(0.1)
    await sampler
    got = await group.results(WINDOW)
    if got.gaps or got.closed:
        raise RuntimeError(f"the normal client saw {got.gaps} gaps and {got.closed} closes")
    return Window(got, projects, rss)


def _stall(port: int, path: str, token: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
                 "\r\n".encode())
    return sock  # and never read


async def _stored(client: TrainyardClient, project: str, run_id: str) -> None:
    deadline = time.monotonic() + 120
    while not (await client.logs(project, run_id, after=HISTORY, limit=1)).entries:
        interrupt.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"the run's {HISTORY:,} lines were not stored within 120 s")
        await asyncio.sleep(0.5)


async def measure(ws: Workspace, server: Process, client: TrainyardClient, project: str,
                  token: str) -> list[Row]:
    (ws.workspace / "slow_printer.py").write_text(_PRINTER)
    run = await client.start_run(project, RunCreate("python3 slow_printer.py",
                                                    output_dir=own_output_dir()))
    path = f"/projects/{project}/runs/{run.id}/events"
    stalled: list[socket.socket] = []
    groups: list[ClientGroup] = []
    try:
        # A normal client per window (the client measures one window), both following
        # the run from its start, so they are live by the windows.
        for _ in range(2):
            groups.append(await ClientGroup.connect(server.port,
                                                    f"{path}?access_token={token}", 1))
        await _stored(client, project, run.id)
        base = await _window(server, groups[0], token)
        stalled = [_stall(server.port, path, token) for _ in range(STALLED)]
        loaded = await _window(server, groups[1], token)
    finally:
        for sock in stalled:
            sock.close()
        for group in groups:
            await group.close()
        with contextlib.suppress(Exception):
            await client.cancel(project, run.id, grace_seconds=1)
    label = f"{STALLED} stream clients that never read, run with {HISTORY // 1000}k lines " \
            f"printing {RATE:,}/s"
    ratio = loaded.client.p99_ms / base.client.p99_ms if base.client.p99_ms else float("inf")
    return [
        Row(f"{label}: server RSS (max)", f"{loaded.rss_mib:,.0f} MiB",
            f"{base.rss_mib:,.0f} MiB without them", target=f"< {RSS_TARGET_MIB:.0f} MiB",
            met=loaded.rss_mib < RSS_TARGET_MIB),
        Row(f"{label}: GET /projects p99", f"{loaded.projects_p99:,.1f} ms",
            f"{base.projects_p99:,.1f} ms without them",
            target=f"< {PROJECTS_P99_MS:.0f} ms", met=loaded.projects_p99 < PROJECTS_P99_MS),
        Row(f"{label}: a normal client's latency", loaded.client.latency,
            f"{base.client.latency} without them", ratio=f"{ratio:.2f}x",
            target=f"p99 <= {RATIO}x baseline", met=ratio <= RATIO),
    ]


if __name__ == "__main__":
    from .standalone import run, with_server

    run(with_server(measure))
