"""Small waiting and process-inspection helpers shared by the run tests."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from common.client import TrainyardClient
from common.models import LogEntry, RunDetail

T = TypeVar("T")


async def wait_until(probe: Callable[[], Awaitable[T]], *, timeout: float = 30.0,
                     every: float = 0.1, what: str = "condition") -> T:
    """Call ``probe`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(every)


async def wait_for_status(api: TrainyardClient, project: str, run_id: str,
                          statuses: set[str], timeout: float = 60.0) -> RunDetail:
    async def probe() -> RunDetail | None:
        run = await api.get_run(project, run_id)
        return run if run.status in statuses else None

    return await wait_until(probe, timeout=timeout, what=f"run {run_id} to be {statuses}")


async def all_logs(api: TrainyardClient, project: str, run_id: str) -> list[LogEntry]:
    entries: list[LogEntry] = []
    after = 0
    while True:
        page = await api.logs(project, run_id, after=after, limit=5000)
        entries.extend(page.entries)
        after = page.next_after
        if not page.has_more:
            return entries


def group_members(pgid: int) -> list[int]:
    """Host processes (not zombies) in process group ``pgid``."""
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            members.append(int(name))
    return members


def marked_pids(run_id: str) -> list[int]:
    """Live host processes (in containers too) that carry run ``run_id``'s marker."""
    marker = f"TRAINYARD_RUN_ID={run_id}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                if marker not in handle.read().split(b"\0"):
                    continue
            with open(f"/proc/{name}/stat", "rb") as handle:
                if handle.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue
        except OSError:
            continue
        found.append(int(name))
    return found

