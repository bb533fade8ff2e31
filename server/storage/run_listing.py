"""Runs across projects, newest first, paged by a cursor (the last run id seen)."""

from __future__ import annotations

from typing import Any

import msgspec

from common.models import RunSummary

from .db import Database
from .runs import SUMMARY_COLUMNS, summary_row

__all__ = ["CursorUnknown", "LiveGauge", "RunListing"]

_COLUMNS = SUMMARY_COLUMNS


class LiveGauge(msgspec.Struct, frozen=True):
    """What a metrics scrape shows of one live run."""

    run_id: str
    project_id: str
    project: str
    progress: float
    progress_info: dict[str, Any]
    metrics: dict[str, Any]


_decode_dict = msgspec.json.Decoder(dict[str, Any]).decode


class CursorUnknown(LookupError):
    """The ``after`` cursor names no run."""


class RunListing:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(self, *, status: str | None, project_id: str | None,
                   created_by: str | None = None, limit: int,
                   after: str | None) -> tuple[list[RunSummary], str | None]:
        """Up to ``limit`` runs after the run ``after`` (newest first) and the cursor of
        the next page (None on the last page)."""
        where: list[str] = []
        params: list[Any] = []
        if after is not None:
            row = await self.db.fetch_one("SELECT created_at, rowid FROM runs WHERE id = ?",
                                          (after,))
            if row is None:
                raise CursorUnknown(after)
            where.append("(created_at, rowid) < (?, ?)")
            params.extend((row[0], row[1]))
        if status:
            where.append("status = ?")
            params.append(status)
        if project_id:
            where.append("project_id = ?")
            params.append(project_id)
        if created_by:
            where.append("created_by = ?")
            params.append(created_by)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS} FROM runs {clause} ORDER BY created_at DESC, rowid DESC "
            "LIMIT ?", (*params, limit + 1))
        runs = [summary_row(row) for row in rows[:limit]]
        return runs, (runs[-1].id if len(rows) > limit else None)

    async def count_by_status(self) -> dict[str, int]:
        rows = await self.db.fetch_all("SELECT status, COUNT(*) FROM runs GROUP BY status")
        return {row[0]: row[1] for row in rows}

    async def live_gauges(self) -> list[LiveGauge]:
        rows = await self.db.fetch_all(
            "SELECT runs.id, runs.project_id, projects.name, runs.progress, "
            "runs.progress_info, runs.metrics FROM runs JOIN projects "
            "ON projects.id = runs.project_id WHERE runs.status IN ('pending', 'running') "
            "ORDER BY runs.created_at")
        return [LiveGauge(row[0], row[1], row[2], row[3], _decode_dict(row[4]),
                          _decode_dict(row[5])) for row in rows]
