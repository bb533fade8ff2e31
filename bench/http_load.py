"""Row 1: ``GET /projects`` (20 projects stored) under ``wrk -t2 -c64``, beside a bare app.

The reference is :mod:`bench.bare_asgi` served by the same uvicorn, same version, same
options, on the same loopback, returning the very bytes trainyard returned. Both get the
same wrk command with the same Authorization header; the servers take turns (warm-up
1 s each, then trainyard, reference, floor, three times over) so a noisy neighbour or a
thermal dip hits all, and each side reports its median. The ratio is then what the
framework, the token check and the listing (cached until a write) cost.

A third server, :mod:`bench.bare_litestar` (Litestar, one route answering the same
bytes the same way, nothing else), is the framework's floor: the gap between it and the
bare app is Litestar's own per-request path, the gap between it and trainyard is
trainyard's (token and role check, services, four typed filters).
"""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import dataclass
from statistics import median

from common.client import TrainyardClient
from common.models import ProjectCreate

from . import interrupt
from .servers import DATASET, TRAINING_YAML, Process, Workspace, start_bare
from .table import Row

__all__ = ["measure", "seed_projects"]

PROJECTS = 20
THREADS, CONNECTIONS, SECONDS, ROUNDS = 2, 64, 5, 3
TARGET = 0.30
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p99_ms: float


async def seed_projects(client: TrainyardClient) -> str:
    """Create :data:`PROJECTS` projects like a user would; return the first one's id."""
    first = ""
    for i in range(PROJECTS):
        project = await client.create_project(ProjectCreate(
            name=f"bench-{i:02d}", objective="Tune a chat model on support tickets",
            task_type="sft", owner="bench", dataset_name=DATASET,
            training_yaml_name=TRAINING_YAML, description=f"benchmark project number {i}",
            tags=["bench", f"batch-{i % 4}"]))
        first = first or project.id
    return first


def _parse(output: str) -> WrkResult:
    errors = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} error responses:\n{output}")
    rps = re.search(r"Requests/sec:\s*([\d.]+)", output)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if not rps or not p99:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    return WrkResult(float(rps.group(1)), float(p99.group(1)) * _UNITS[p99.group(2)])


async def run_wrk(url: str, token: str, seconds: int) -> WrkResult:
    interrupt.check()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: 'make bench' installs it "
                           "(scripts/bench-deps.sh), or apt-get install wrk")
    proc = await asyncio.create_subprocess_exec(
        wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
        "-H", f"Authorization: Bearer {token}", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await proc.communicate()
    finally:
        if proc.returncode is None:  # interrupted: do not leave wrk running
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited with {proc.returncode}: {out.decode(errors='replace')}")
    return _parse(out.decode(errors="replace"))


async def _fetch_body(client: TrainyardClient) -> tuple[bytes, str]:
    response = await client.http.get("/projects")
    response.raise_for_status()
    if len(response.json()) != PROJECTS:
        raise RuntimeError(f"expected {PROJECTS} projects, got {len(response.json())}")
    return response.content, response.headers["content-type"]


async def _alternate(urls: list[str], token: str) -> list[list[WrkResult]]:
    """Each URL's results, the servers taking turns."""
    for url in urls:
        await run_wrk(url, token, 1)
    results: list[list[WrkResult]] = [[] for _ in urls]
    for _ in range(ROUNDS):
        for url, mine in zip(urls, results, strict=True):
            mine.append(await run_wrk(url, token, SECONDS))
    return results


def _rows(ours: list[WrkResult], theirs: list[WrkResult], floor: list[WrkResult]) -> list[Row]:
    # Medians: the bare app's figure swings most with other load, so a best-of flatters it.
    rps, ref_rps = median(r.rps for r in ours), median(r.rps for r in theirs)
    floor_rps = median(r.rps for r in floor)
    p99, ref_p99 = median(r.p99_ms for r in ours), median(r.p99_ms for r in theirs)
    ratio = rps / ref_rps
    label = f"`GET /projects` ({PROJECTS} projects), wrk -t{THREADS} -c{CONNECTIONS}"
    return [
        Row(f"{label}: req/s (median of {ROUNDS} × {SECONDS} s, alternating)", f"{rps:,.0f}",
            f"{ref_rps:,.0f} (bare ASGI app, same bytes, same uvicorn)", f"{ratio:.0%}",
            f"≥ {TARGET:.0%}", ratio >= TARGET),
        Row(f"{label}: req/s against the framework's floor (Litestar, one route answering "
            f"the same bytes; no auth, services or filters)", f"{rps:,.0f}",
            f"{floor_rps:,.0f} (the floor is {floor_rps / ref_rps:.0%} of the bare app)",
            f"{rps / floor_rps:.0%}"),
        Row(f"{label}: p99 latency", f"{p99:.1f} ms", f"{ref_p99:.1f} ms",
            f"{p99 / ref_p99:.1f}×"),
    ]


async def measure(ws: Workspace, server: Process, client: TrainyardClient,
                  token: str) -> list[Row]:
    body, content_type = await _fetch_body(client)
    bare = start_bare(ws, body, content_type)
    try:
        floor = start_bare(ws, body, content_type, app="bench.bare_litestar:app")
        try:
            ours, theirs, lowest = await _alternate(
                [server.url + "/projects", bare.url + "/projects", floor.url + "/projects"],
                token)
        finally:
            floor.stop()
    finally:
        bare.stop()
    return _rows(ours, theirs, lowest)


if __name__ == "__main__":
    from .standalone import run, with_server

    run(with_server(lambda ws, server, client, _project, token:
                    measure(ws, server, client, token)))
