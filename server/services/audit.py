"""Who did what: every mutation is stored as it finishes; refusals (401/403) are counted
in memory and written once a second as one row per source, outcome and hour, so a flood
of bad tokens costs a counter, not a row each. Rows older than the retention go daily."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from ..storage.audit import AuditRepository, Refusal
from ..storage.db import now_iso

__all__ = ["AuditLog"]

log = logging.getLogger("trainyard.audit")
FLUSH_SECONDS = 1.0
PURGE_SECONDS = 3600.0


class AuditLog:
    def __init__(self, repo: AuditRepository, *, keep_days: int) -> None:
        self.repo = repo
        self.keep_days = keep_days
        self._pending: dict[str, Refusal] = {}
        self._task: asyncio.Task[None] | None = None

    async def record(self, *, actor: str | None, action: str, target: str, outcome: str,
                     status: int, client: str) -> None:
        try:
            await self.repo.add(now_iso(), actor, action, target, outcome, status, client)
        except Exception:  # the trail must not turn a done change into an error
            log.exception("could not store an audit row for %s %s", action, target)

    def refused(self, *, actor: str | None, action: str, target: str, outcome: str,
                status: int, client: str) -> None:
        ts = now_iso()
        key = f"{client}|{outcome}|{ts[:13]}"
        old = self._pending.get(key)
        count = old[8] + 1 if old else 1
        first = old[0] if old else ts
        self._pending[key] = (first, ts, actor, action, target, outcome, status, client, count,
                              key)

    async def flush(self) -> None:
        pending, self._pending = self._pending, {}
        if pending:
            await self.repo.add_refusals(list(pending.values()))

    async def start(self) -> None:
        await self._purge()
        self._task = asyncio.create_task(self._loop(), name="audit")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def _purge(self) -> None:
        cutoff = datetime.now(UTC) - timedelta(days=self.keep_days)
        removed = await self.repo.purge(cutoff.isoformat(timespec="milliseconds")
                                        .replace("+00:00", "Z"))
        if removed:
            log.info("audit: removed %d entries older than %d days", removed, self.keep_days)

    async def _loop(self) -> None:
        since_purge = 0.0
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            since_purge += FLUSH_SECONDS
            try:
                await self.flush()
                if since_purge >= PURGE_SECONDS:
                    since_purge = 0.0
                    await self._purge()
            except Exception:
                log.exception("audit flush failed")
