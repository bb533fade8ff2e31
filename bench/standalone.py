"""Running some rows alone (``python -m bench.<module>``), on a server of their own."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from common.client import TrainyardClient

from . import interrupt
from .http_load import seed_projects
from .machine import header_lines, load_average, machine_busy
from .servers import Process, Workspace, kill_runs, start_trainyard
from .table import Row, render

__all__ = ["run", "temp_workspace", "with_server", "with_workspace"]

ServerRows = Callable[[Workspace, Process, TrainyardClient, str, str], Awaitable[list[Row]]]
WorkspaceRows = Callable[[Workspace, str], Awaitable[list[Row] | Row]]


def temp_workspace() -> Workspace:
    return Workspace(Path(tempfile.mkdtemp(prefix="trainyard-bench-", dir="/tmp")).resolve()
                     ).create()


def _token() -> str:
    return "bench-" + secrets.token_hex(16)


def _print(rows: list[Row], busy: float) -> int:
    print("\n".join(header_lines()))
    print("server: trainyard serve, local executor, default poll interval 0.2 s")
    print(f"other load: CPUs {busy:.0f}% busy in the second before; load average at the "
          f"end {load_average()}")
    print()
    print(render(rows))
    return 1 if any(row.trainyard.startswith("error:") for row in rows) else 0


async def with_server(measure: ServerRows) -> int:
    """``measure(ws, server, client, project, token)`` beside a seeded trainyard server."""
    task = asyncio.current_task()
    assert task is not None
    interrupt.install(task)
    busy = machine_busy(1.0)
    ws = temp_workspace()
    token = _token()
    server: Process | None = None
    try:
        server = start_trainyard(ws, token)
        async with TrainyardClient(server.url, token) as client:
            project = await seed_projects(client)
            rows = await measure(ws, server, client, project, token)
    finally:
        if server is not None:
            server.stop()
        kill_runs(ws)
        shutil.rmtree(ws.root, ignore_errors=True)
    return _print(rows, busy)


async def with_workspace(measure: WorkspaceRows) -> int:
    """``measure(ws, token)``, which starts the servers it needs."""
    busy = machine_busy(1.0)
    ws = temp_workspace()
    try:
        found = await measure(ws, _token())
    finally:
        shutil.rmtree(ws.root, ignore_errors=True)
    return _print(found if isinstance(found, list) else [found], busy)


def run(rows: Awaitable[int]) -> None:
    """The process's exit: the rows' status, 130 when interrupted."""
    try:
        raise SystemExit(asyncio.run(rows))  # type: ignore[arg-type]
    except (KeyboardInterrupt, asyncio.CancelledError, interrupt.Interrupted):
        raise SystemExit(130) from None
