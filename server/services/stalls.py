"""Stalls: a running run that writes no log line and makes no progress for its project's
``stall_seconds`` (else ``TRAINYARD_STALL_SECONDS``) gets a warning line, ``stalled_since``
in its detail, a ``stalled`` stream event and a ``run.stalled`` notification; the flag
clears when it moves again. Nothing is stopped: a hung collective and a long evaluation
look alike from here, and a person decides."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

import msgspec

from ..storage.db import Database
from ..storage.runs import Committed
from ..storage.webhooks import outbox_rows
from .recorder import RunRecorder

__all__ = ["StallWatch"]

log = logging.getLogger("trainyard.stalls")


class _Seen(msgspec.Struct):
    mark: tuple[int, float]  # newest log line's seq, progress
    since: float  # monotonic time the mark was first seen
    wall: float  # the same moment, epoch seconds


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class StallWatch:
    def __init__(self, *, db: Database, recorder: RunRecorder, default_seconds: float) -> None:
        self.db = db
        self.recorder = recorder
        self.default = default_seconds
        self._seen: dict[str, _Seen] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="stalls")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            shortest = self.default
            try:
                shortest = await self.check()
            except Exception:
                log.exception("stall check failed")
            await asyncio.sleep(max(0.2, min(2.0, shortest / 5)))

    async def check(self) -> float:
        """Look at every running run once; return the shortest limit there is."""
        rows = await self.db.fetch_all(
            "SELECT r.id, r.stalled_since, coalesce(p.stall_seconds, ?), r.progress, "
            "(SELECT max(seq) FROM log_lines l WHERE l.run_id = r.id) "
            "FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.status = 'running'",
            (self.default,))
        now, wall = time.monotonic(), time.time()
        running = set()
        row = await self.db.fetch_one("SELECT min(stall_seconds) FROM projects")
        shortest = min(self.default, float(row[0])) if row and row[0] else self.default
        for run_id, stalled_since, limit, progress, last_line in rows:
            running.add(run_id)
            shortest = min(shortest, float(limit))
            mark = (int(last_line or 0), float(progress or 0.0))
            seen = self._seen.get(run_id)
            if seen is None or seen.mark != mark:
                if stalled_since and seen is not None:
                    mark = _after(await self._clear(run_id, stalled_since), mark)
                self._seen[run_id] = _Seen(mark, now, wall)
            elif not stalled_since and now - seen.since >= float(limit):
                seen.mark = _after(await self._flag(run_id, float(limit), seen.wall), mark)
        for gone in set(self._seen) - running:
            del self._seen[gone]
        return shortest

    async def _flag(self, run_id: str, limit: float, since: float) -> Committed | None:
        when = _iso(since)
        return await self.recorder.record(
            run_id, [("system", "WARNING", f"no log line and no progress for {limit:g} s "
                                           f"(since {when}): the run may be stalled; it is "
                                           "left running")],
            events=[("stalled", {"stalled": True, "since": when})],
            fields={"stalled_since": when}, guard="live",
            outbox=[outbox_rows("run.stalled", run_id)])

    async def _clear(self, run_id: str, since: str) -> Committed | None:
        return await self.recorder.record(
            run_id, [("system", "INFO", f"the run moves again (stalled since {since})")],
            events=[("stalled", {"stalled": False, "since": None})],
            fields={"stalled_since": None}, guard="live")


def _after(committed: Committed | None, mark: tuple[int, float]) -> tuple[int, float]:
    """The mark as our own line left it, so that line is not taken for movement."""
    return (committed.lines[-1][1], mark[1]) if committed and committed.lines else mark
